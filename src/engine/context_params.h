// The one place SchedulerOptions become llama.cpp context parameters, so that a memory dry run
// (memory_estimate.h) measures exactly the context a runner will create.
#pragma once

#include <llama.h>

#include "engine/scheduler.h"

namespace cohost::engine {

// REQUIRES: options validated (Scheduler::Create does it) and threads > 0.
llama_context_params MakeContextParams(const SchedulerOptions& options);

}  // namespace cohost::engine
