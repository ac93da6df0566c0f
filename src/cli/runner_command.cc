#include "cli/runner_command.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "cli/http_flags.h"
#include "core/log.h"
#include "runner/runner_main.h"
#include "runner/standby.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <vector>

namespace cohost::cli {
namespace {

// `cohost runner --standby`: waits as a standby, then runs the arguments it is started with as
// this same command would, in this process (see runner/standby.h).
int RunStandbyThenRunner(const runner::RunnerOptions& o) {
  if (o.exit_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) return 1;
  }
  if (o.verbose) log::SetLevel(log::Level::kDebug);
  runner::StandbyOptions so;
  so.server = o.server;
  so.verbose = o.verbose;
  auto start = runner::RunStandby(so);
  if (!start.ok()) {
    if (start.status().code() == StatusCode::kCancelled) return 0;
    log::Error("standby failed", {{"error", start.status().message()}});
    return 1;
  }
  if (!start->log_path.empty()) {
    if (Status st = runner::RedirectOutput(start->log_path); !st.ok()) {
      log::Error("standby cannot start", {{"error", st.message()}});
      return 1;
    }
  }
  CLI::App app{"cohost"};
  AddRunnerCommand(app);
  std::vector<const char*> argv = {"cohost"};
  for (const std::string& a : start->args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}

}  // namespace

void AddRunnerCommand(CLI::App& app) {
  auto o = std::make_shared<runner::RunnerOptions>();
  auto gather_ms = std::make_shared<double>(o->scheduler.admission_gather_us / 1000.0);
  o->server.port = 8080;
  CLI::App* cmd = app.add_subcommand("runner", "Serve one model over HTTP with continuous batching (like llama-server)");
  cmd->add_option("--model", o->model.path, "GGUF model: a path, file://, http(s)://URL or s3://bucket/key");
  auto standby = std::make_shared<bool>(false);
  cmd->add_flag("--standby", *standby,
                "start without a model: bring up the runtime and devices, then wait on --socket for "
                "POST /standby/start with the runner's arguments (used by cohost serve)");
  auto load_mode = std::make_shared<std::string>("auto");
  auto chunk_mib = std::make_shared<double>(8);
  cmd->add_option("--load-mode", *load_mode,
                  "auto (local: fastest measured, remote: stream), mmap, read (llama.cpp's loader, local files), stream (cohost's chunked parallel loader)")
      ->check(CLI::IsMember({"auto", "mmap", "read", "stream"}))
      ->capture_default_str();
  cmd->add_option("--load-chunk-mib", *chunk_mib, "bytes per ranged read when streaming, in MiB")
      ->check(CLI::Range(0.0625, 1024.0))
      ->capture_default_str();
  cmd->add_option("--load-concurrency", o->load.stream.concurrency, "ranged reads in flight when streaming")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--load-stall-timeout-s", o->load.sources.http.stall_timeout_s,
                  "fail an HTTP/S3 read that moves no data for this long")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_flag("--load-huge-pages", o->load.stream.huge_pages,
                "ask for transparent huge pages on host tensor memory when streaming (fewer page faults; "
                "slower on VMs that return free memory to their host)");
  auto staging = std::make_shared<std::string>("pinned-async");
  cmd->add_option("--load-staging", *staging,
                  "how streamed bytes reach device memory: pinned-async (pinned buffers, copies overlapping "
                  "reads), pinned, pageable (no effect on CPU-only loads)")
      ->check(CLI::IsMember({"pinned-async", "pinned", "pageable"}))
      ->capture_default_str();
  cmd->add_flag("!--no-verify", o->load.verify, "ignore a manifest beside the model");
  auto cache_gib = std::make_shared<double>(20);
  cmd->add_option("--cache-dir", o->load.cache.dir, "keep HTTP/S3 artifacts in this disk cache (default: none)");
  cmd->add_option("--cache-max-gib", *cache_gib, "disk cache size bound (least recently used entries go first)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  cmd->add_option("--alias", o->service.model_name, "model id clients send (default: file name without .gguf)");
  cmd->add_option("--host", o->server.host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", o->server.port, "TCP port (0 picks a free one, logged at start)")->capture_default_str();
  cmd->add_option("--socket", o->server.unix_socket, "listen on this Unix socket instead of TCP");
  cmd->add_option("--parallel", o->scheduler.parallel, "sequences decoded together (slots)")->capture_default_str();
  cmd->add_option("--context", o->scheduler.context, "tokens of context per slot")->capture_default_str();
  cmd->add_option("--batch", o->scheduler.batch, "most tokens in one decode step")->capture_default_str();
  cmd->add_option("--ubatch", o->scheduler.ubatch, "physical micro-batch")->capture_default_str();
  cmd->add_option("--prefill-chunk", o->scheduler.max_prefill_chunk, "most prompt tokens one sequence adds per step (0 = batch)")->capture_default_str();
  cmd->add_option("--threads", o->scheduler.threads, "compute threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--max-queue", o->scheduler.max_queue, "requests waiting for a slot before 503")->capture_default_str();
  cmd->add_option("--max-body-bytes", o->server.max_body_bytes, "largest request body (413 beyond)")->capture_default_str();
  cmd->add_option("--max-prompt-bytes", o->service.max_prompt_bytes, "largest prompt text (413 beyond)")->capture_default_str();
  cmd->add_option("--gpu-layers", o->model.gpu_layers, "layers on accelerators (-1 = all)")->capture_default_str();
  cmd->add_option("--memory-limit-mib", o->memory_limit_mib,
                  "fit KV cache and buffers within this many MiB, shrinking the micro-batch if needed, "
                  "or exit (0 = no limit)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--http-threads", o->server.threads, "HTTP I/O threads")->capture_default_str();
  AddHttpLimitFlags(cmd, o->server.limits);
  auto flash_attn = std::make_shared<std::string>("auto");
  cmd->add_option("--flash-attn", *flash_attn, "flash attention: auto (llama.cpp decides), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  cmd->add_option("--admission-gather-ms", *gather_ms,
                  "when idle, wait this long for the rest of a burst before the first step (0-1000)")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  cmd->add_flag("--backend-sampling", o->scheduler.backend_sampling,
                "sample inside the decode graph on the model's backend (llama.cpp's backend sampling, for "
                "greedy and top-k/top-p/min-p/temperature without penalties) instead of on the host");
  cmd->add_option("--sampling-threads", o->scheduler.sampling_threads,
                  "helper threads for host-side greedy sampling of many streams (-1: a quarter of the "
                  "hardware threads, at most 7; none below 8)")
      ->capture_default_str();
  cmd->add_flag("!--no-mmap", o->model.use_mmap, "read the model instead of mapping it");
  cmd->add_flag("--verbose,-v", o->verbose, "debug logs, and llama.cpp's own logging");
  cmd->add_flag("--exit-with-parent", o->exit_with_parent, "exit when the parent process dies (used by cohost serve)");
  cmd->callback([o, gather_ms, flash_attn, load_mode, chunk_mib, cache_gib, staging, standby] {
    log::SetComponent("runner");
    if (*standby) throw CLI::RuntimeError(RunStandbyThenRunner(*o));
    if (o->model.path.empty()) throw CLI::RequiredError("--model");
    o->load.mode = *loader::ParseLoadMode(*load_mode);
    o->load.stream.chunk_bytes = static_cast<size_t>(*chunk_mib * (1 << 20));
    o->load.stream.pinned_staging = *staging != "pageable";
    o->load.stream.async_copies = *staging == "pinned-async";
    o->load.cache.max_bytes = static_cast<uint64_t>(*cache_gib * (1 << 30));
    if (o->model.path.rfind("s3://", 0) == 0) {
      const char* home = std::getenv("HOME");
      auto s3 = loader::ResolveS3Config([](const char* n) { return std::getenv(n); }, home ? home : "");
      if (!s3.ok()) {
        log::Error("cannot load model", {{"error", s3.status().message()}});
        throw CLI::RuntimeError(1);
      }
      o->load.sources.s3 = *s3;
    }
    if (o->verbose) log::SetLevel(log::Level::kDebug);
    o->scheduler.admission_gather_us = static_cast<int>(*gather_ms * 1000.0);
    o->scheduler.flash_attention = *flash_attn == "on"    ? engine::FlashAttention::kOn
                                   : *flash_attn == "off" ? engine::FlashAttention::kOff
                                                          : engine::FlashAttention::kAuto;
    throw CLI::RuntimeError(runner::RunRunner(*o));
  });
}

}  // namespace cohost::cli
