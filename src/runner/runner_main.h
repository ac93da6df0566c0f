// `cohost runner`: serves one model over HTTP until SIGINT/SIGTERM.
#pragma once

#include <string>

#include "engine/model.h"
#include "loader/model_loader.h"
#include "engine/scheduler.h"
#include "net/http_server.h"
#include "runner/runner_service.h"

namespace cohost::runner {

struct RunnerOptions {
  engine::ModelOptions model;  // model.path is a model URI: a path, file://, http(s)://, s3://
  // How weights are loaded (mode, chunking, sources). Its gpu_layers is taken from model.
  loader::LoaderOptions load;
  engine::SchedulerOptions scheduler;
  net::ServerOptions server;
  RunnerServiceOptions service;  // model_name defaults to the file name without .gguf
  bool verbose = false;
  // The copy's memory reservation, MiB; 0: none. Before allocating, the runner measures its need
  // (memory_fit.h), shrinks the micro-batch to fit, or exits with both numbers if it cannot.
  int64_t memory_limit_mib = 0;
  // Exit when the parent process dies (set by the agent, so a killed `cohost serve` leaves no
  // orphaned copies holding device memory).
  bool exit_with_parent = false;
};

// Loads the model, then listens. Returns the process exit code: 1 when the model cannot be
// loaded or the address cannot be bound (the reason is logged, nothing listens), 0 after a signal.
int RunRunner(RunnerOptions options);

// Loads the runner's model as options.load says: llama.cpp's own loader for mmap/read on a local
// file, the streaming loader otherwise. Logs the mode, bytes, time and verification.
StatusOr<std::unique_ptr<engine::Model>> LoadRunnerModel(const RunnerOptions& options);

}  // namespace cohost::runner
