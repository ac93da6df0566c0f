// Simulate: a scenario's traffic replayed under each of its strategies.
// Thread safety: a pure function of its arguments.
#pragma once

#include <vector>

#include "core/status.h"
#include "sim/report.h"
#include "sim/scenario.h"

namespace cohost::sim {

struct SimulateOptions {
  std::vector<StrategyKind> strategies;  // empty: the scenario's own list
};

// Builds the traffic (trace or generated from scenario.seed) and runs each strategy on it.
// Errors from the trace (NotFound, InvalidArgument naming the line) and engine errors pass through.
StatusOr<SimulationReport> Simulate(const Scenario& scenario, const SimulateOptions& options = {});

}  // namespace cohost::sim
