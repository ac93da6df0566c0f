#include "cli/runner_command.h"

#include <memory>
#include <string>

#include "core/log.h"
#include "runner/runner_main.h"

namespace cohost::cli {

void AddRunnerCommand(CLI::App& app) {
  auto o = std::make_shared<runner::RunnerOptions>();
  auto gather_ms = std::make_shared<double>(o->scheduler.admission_gather_us / 1000.0);
  o->server.port = 8080;
  CLI::App* cmd = app.add_subcommand("runner", "Serve one model over HTTP with continuous batching (like llama-server)");
  cmd->add_option("--model", o->model.path, "GGUF model file")->required();
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
  auto flash_attn = std::make_shared<std::string>("auto");
  cmd->add_option("--flash-attn", *flash_attn, "flash attention: auto (llama.cpp decides), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  cmd->add_option("--admission-gather-ms", *gather_ms,
                  "when idle, wait this long for the rest of a burst before the first step (0-1000)")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  cmd->add_flag("!--no-mmap", o->model.use_mmap, "read the model instead of mapping it");
  cmd->add_flag("--verbose,-v", o->verbose, "debug logs, and llama.cpp's own logging");
  cmd->add_flag("--exit-with-parent", o->exit_with_parent, "exit when the parent process dies (used by cohost serve)");
  cmd->callback([o, gather_ms, flash_attn] {
    log::SetComponent("runner");
    if (o->verbose) log::SetLevel(log::Level::kDebug);
    o->scheduler.admission_gather_us = static_cast<int>(*gather_ms * 1000.0);
    o->scheduler.flash_attention = *flash_attn == "on"    ? engine::FlashAttention::kOn
                                   : *flash_attn == "off" ? engine::FlashAttention::kOff
                                                          : engine::FlashAttention::kAuto;
    throw CLI::RuntimeError(runner::RunRunner(*o));
  });
}

}  // namespace cohost::cli
