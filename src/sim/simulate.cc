#include "sim/simulate.h"

#include <chrono>

#include "sim/traffic.h"

namespace cohost::sim {

StatusOr<SimulationReport> Simulate(const Scenario& scenario, const SimulateOptions& options) {
  auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(std::vector<Request> requests, ScenarioTraffic(scenario));
  SimulationReport report;
  report.scenario = scenario.name;
  report.seed = scenario.seed;
  report.requests = static_cast<int64_t>(requests.size());
  report.models = static_cast<int>(scenario.models.size());
  for (const ModelSpec& m : scenario.models) report.model_names.push_back(m.name);
  report.duration_s = scenario.duration_s;
  report.lower_bound = ComputeLowerBound(scenario, requests);
  const auto& kinds = options.strategies.empty() ? scenario.strategies : options.strategies;
  for (StrategyKind kind : kinds) {
    ASSIGN_OR_RETURN(StrategyResult result, RunStrategy(scenario, requests, kind));
    report.results.push_back(std::move(result));
  }
  report.total_wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace cohost::sim
