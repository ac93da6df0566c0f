#include "runner/runner_main.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "core/log.h"
#include "engine/llama_runtime.h"
#include "engine/memory_fit.h"

namespace cohost::runner {
namespace {

void LogProgress(const loader::LoadProgress& p) {
  double rate = p.seconds > 0 ? p.bytes_done / p.seconds : 0;
  double eta = rate > 0 ? (p.bytes_total - p.bytes_done) / rate : 0;
  log::Info("load progress", {{"bytes", static_cast<int64_t>(p.bytes_done)},
                              {"total", static_cast<int64_t>(p.bytes_total)},
                              {"mib_per_s", static_cast<int64_t>(rate / (1 << 20))},
                              {"eta_s", eta}});
}

}  // namespace

StatusOr<std::unique_ptr<engine::Model>> LoadRunnerModel(const RunnerOptions& options) {
  loader::LoaderOptions load = options.load;
  load.gpu_layers = options.model.gpu_layers;
  if (!options.model.use_mmap && load.mode == loader::LoadMode::kAuto) load.mode = loader::LoadMode::kRead;
  ASSIGN_OR_RETURN(loader::ParsedUri uri, loader::ParseModelUri(options.model.path));
  loader::LoadMode mode = load.mode == loader::LoadMode::kAuto ? loader::ResolveAutoMode(uri) : load.mode;
  log::Info("loading model", {{"uri", options.model.path}, {"mode", loader::LoadModeName(mode)}});
  if ((mode == loader::LoadMode::kMmap || mode == loader::LoadMode::kRead) && uri.scheme == loader::UriScheme::kFile) {
    engine::ModelOptions m = options.model;
    m.path = uri.path;
    m.use_mmap = mode == loader::LoadMode::kMmap;
    return engine::Model::Load(m);
  }
  if (!load.stream.on_progress) load.stream.on_progress = &LogProgress;
  loader::LoadReport report;
  engine::TakeLlamaErrors();
  auto raw = loader::LoadModel(options.model.path, load, &report);
  if (!raw.ok()) {
    std::string why = engine::TakeLlamaErrors();
    Status s = raw.status();
    return Status(s.code(), s.message() + (why.empty() ? "" : ": " + why), s.field());
  }
  log::Info("model loaded", {{"mode", loader::LoadModeName(report.mode_used)},
                             {"bytes", static_cast<int64_t>(report.bytes)},
                             {"seconds", report.seconds},
                             {"header_s", report.stream.header_s},
                             {"create_s", report.stream.create_s},
                             {"data_s", report.stream.data_s},
                             {"verified", report.verified ? "yes" : "no"},
                             {"from_cache", report.from_cache ? "yes" : "no"},
                             {"cached", report.cached ? "yes" : "no"},
                             {"chunks", static_cast<int64_t>(report.stream.chunks)}});
  return engine::Model::Adopt(*raw, report.stream.n_params, report.stream.data_bytes);
}

int RunRunner(RunnerOptions options) {
  if (options.exit_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) return 1;  // the parent is already gone
  }
  engine::InitLlamaRuntime(options.verbose);
  if (options.service.model_name.empty()) {
    options.service.model_name = std::filesystem::path(options.model.path).stem().string();
  }
  // The memory fit needs the file's header; remote models are measured by the control plane only.
  auto local = loader::ParseModelUri(options.model.path);
  if (options.memory_limit_mib > 0 && local.ok() && local->scheme == loader::UriScheme::kFile) {
    engine::ModelOptions measured = options.model;
    measured.path = local->path;
    auto fit = engine::FitToMemoryLimit(measured, options.scheduler, options.memory_limit_mib);
    if (!fit.ok()) {
      bool too_big = fit.status().code() == StatusCode::kResourceExhausted;
      log::Error(too_big ? "the copy does not fit its memory limit" : "cannot load model",
                 {{"error", fit.status().message()}});
      return 1;
    }
    if (fit->shrunk) {
      log::Info("micro-batch reduced to fit the memory limit",
                {{"ubatch", fit->options.ubatch}, {"limit_mib", options.memory_limit_mib}});
    }
    options.scheduler = fit->options;
  }
  auto model = LoadRunnerModel(options);
  if (!model.ok()) {
    log::Error("cannot load model", {{"error", model.status().message()}});
    return 1;
  }
  auto scheduler = engine::Scheduler::Create(**model, options.scheduler);
  if (!scheduler.ok()) {
    log::Error("cannot create the inference context", {{"error", scheduler.status().ToString()}});
    return 1;
  }
  RunnerService service(**model, **scheduler, options.service);
  auto server = net::HttpServer::Create(
      options.server, [&service](net::Exchange& ex) { return service.Handle(ex); });
  if (!server.ok()) {
    log::Error("cannot listen", {{"error", server.status().message()}});
    return 1;
  }
  (*scheduler)->Start();

  net::asio::signal_set signals((*server)->io_context(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::Info("stopping", {{"signal", sig}});
    (*server)->Stop();
  });
  log::Info("listening", {{"address", (*server)->address()},
                          {"port", (*server)->port()},
                          {"model", options.service.model_name},
                          {"params", static_cast<int64_t>((*model)->n_params())},
                          {"parallel", options.scheduler.parallel},
                          {"context", (*scheduler)->slot_context()},
                          {"chat_template", (*model)->chat_template_name()}});
  (*server)->Run();
  (*scheduler)->Stop();
  // Let handlers posted by the last events run, so nothing refers to the scheduler afterwards.
  (*server)->io_context().restart();
  (*server)->io_context().poll();
  return 0;
}

}  // namespace cohost::runner
