// `cohost runner`: serves one model over HTTP until SIGINT/SIGTERM.
#pragma once

#include <string>

#include "engine/model.h"
#include "engine/scheduler.h"
#include "net/http_server.h"
#include "runner/runner_service.h"

namespace cohost::runner {

struct RunnerOptions {
  engine::ModelOptions model;
  engine::SchedulerOptions scheduler;
  net::ServerOptions server;
  RunnerServiceOptions service;  // model_name defaults to the file name without .gguf
  bool verbose = false;
  // Exit when the parent process dies (set by the agent, so a killed `cohost serve` leaves no
  // orphaned copies holding device memory).
  bool exit_with_parent = false;
};

// Loads the model, then listens. Returns the process exit code: 1 when the model cannot be
// loaded or the address cannot be bound (the reason is logged, nothing listens), 0 after a signal.
int RunRunner(RunnerOptions options);

}  // namespace cohost::runner
