#include "runner/runner_main.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "core/log.h"
#include "engine/llama_runtime.h"
#include "engine/memory_fit.h"
#include "net/descriptor_limit.h"

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

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Seconds from this process's start (exec) to now: what dynamic linking and static initialisers
// took before main, at the kernel's clock-tick resolution (10 ms). -1 when /proc cannot say.
double SinceProcessStart() {
  std::ifstream f("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream rest(stat.substr(paren + 2));
  std::string field;
  // Fields after the command: state is field 3; starttime is field 22.
  for (int i = 3; i < 22 && rest >> field; ++i) {
  }
  unsigned long long start_ticks = 0;
  if (!(rest >> start_ticks)) return -1;
  timespec now{};
  clock_gettime(CLOCK_BOOTTIME, &now);
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return now.tv_sec + now.tv_nsec / 1e9 - static_cast<double>(start_ticks) / ticks;
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
                             {"chunks", static_cast<int64_t>(report.stream.chunks)},
                             {"device_bytes", static_cast<int64_t>(report.stream.device_bytes)},
                             {"staging", report.stream.staging}});
  return engine::Model::Adopt(*raw, report.stream.n_params, report.stream.data_bytes);
}

int RunRunner(RunnerOptions options) {
  if (options.exit_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) return 1;  // the parent is already gone
  }
  net::RaiseDescriptorLimit();
  // Start-up phases, logged with the "ready" line so a cold start can be taken apart.
  const double before_main_s = SinceProcessStart();
  const Clock::time_point t_main = Clock::now();
  engine::InitLlamaRuntime(options.verbose);
  const double init_s = Since(t_main);
  if (options.service.model_name.empty()) {
    options.service.model_name = std::filesystem::path(options.model.path).stem().string();
  }
  // The memory fit needs the file's header; remote models are measured by the control plane only.
  auto local = loader::ParseModelUri(options.model.path);
  const Clock::time_point t_fit = Clock::now();
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
  const double fit_s = Since(t_fit);
  const Clock::time_point t_load = Clock::now();
  auto model = LoadRunnerModel(options);
  const double load_s = Since(t_load);
  if (!model.ok()) {
    log::Error("cannot load model", {{"error", model.status().message()}});
    return 1;
  }
  const Clock::time_point t_context = Clock::now();
  auto scheduler = engine::Scheduler::Create(**model, options.scheduler);
  const double context_s = Since(t_context);
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
  // SIGTERM/SIGINT: drain (net::HttpServer::Shutdown); a second signal stops at once.
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        log::Info("stopping", {{"signal", sig}});
        (*server)->Shutdown();
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);
  log::Info("listening", {{"address", (*server)->address()},
                          {"port", (*server)->port()},
                          {"model", options.service.model_name},
                          {"params", static_cast<int64_t>((*model)->n_params())},
                          {"parallel", options.scheduler.parallel},
                          {"context", (*scheduler)->slot_context()},
                          {"chat_template", (*model)->chat_template_name()}});
  log::Info("ready", {{"before_main_s", before_main_s},
                      {"init_s", init_s},
                      {"fit_s", fit_s},
                      {"load_s", load_s},
                      {"context_s", context_s},
                      {"main_to_ready_s", Since(t_main)}});
  (*server)->Run();
  (*scheduler)->Stop();
  // Let handlers posted by the last events run, so nothing refers to the scheduler afterwards.
  (*server)->io_context().restart();
  (*server)->io_context().poll();
  return 0;
}

}  // namespace cohost::runner
