// Report: one simulation's results as text, JSON and SVG charts.
// Thread safety: free functions over values.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "sim/engine.h"
#include "sim/scenario.h"

namespace cohost::sim {

struct SimulationReport {
  std::string scenario;
  uint64_t seed = 0;
  int64_t requests = 0;
  int models = 0;
  std::vector<std::string> model_names;
  double duration_s = 0;
  LowerBound lower_bound;
  std::vector<StrategyResult> results;
  double total_wall_s = 0;
};

// Per strategy figures, then a ratio table against the dedicated strategy (when it ran) and the
// gap of each strategy's cost to the lower bound, then the models with the lowest SLO attainment
// per strategy (JSON: every model).
std::string RenderText(const SimulationReport& report);
nlohmann::json RenderJson(const SimulationReport& report);
// Writes copies.svg (copies over time), utilisation.svg (memory and compute over time) and
// cost.svg (cost per strategy) into `dir`, creating it. Internal when a file cannot be written.
Status WriteSvgCharts(const SimulationReport& report, const std::string& dir);

}  // namespace cohost::sim
