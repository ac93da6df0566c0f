#include "runner/runner_main.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "core/log.h"
#include "engine/llama_runtime.h"
#include "engine/memory_fit.h"

namespace cohost::runner {

int RunRunner(RunnerOptions options) {
  if (options.exit_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) return 1;  // the parent is already gone
  }
  engine::InitLlamaRuntime(options.verbose);
  if (options.service.model_name.empty()) {
    options.service.model_name = std::filesystem::path(options.model.path).stem().string();
  }
  if (options.memory_limit_mib > 0) {
    auto fit = engine::FitToMemoryLimit(options.model, options.scheduler, options.memory_limit_mib);
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
  log::Info("loading model", {{"path", options.model.path}});
  auto model = engine::Model::Load(options.model);
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
