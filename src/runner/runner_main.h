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

}  // namespace cohost::runner
