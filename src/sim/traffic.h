// Traffic: the requests one simulation replays, from a CSV trace or generated per model.
//
// Generation is deterministic for a seed: each model draws from its own generator seeded from
// (scenario seed, model index), so adding a model does not change the others' traffic.
// Thread safety: free functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "sim/scenario.h"

namespace cohost::sim {

struct Request {
  double arrival_s = 0;  // seconds from the start of the simulation
  int32_t model = 0;     // index into Scenario::models
  int32_t prompt_tokens = 0;
  int32_t output_tokens = 0;
};

// The mean arrival rate each model gets: its own traffic.rate_per_s, or for the others a Zipf
// share (exponent zipf_s, rank = their order in the file) of total_rate_per_s.
std::vector<double> ModelRates(const Scenario& scenario);

// Synthetic requests for the whole duration, sorted by arrival (ties by model index).
std::vector<Request> GenerateTraffic(const Scenario& scenario);

// Parses a CSV trace: one request a line, "timestamp_s,model,prompt_tokens,output_tokens"; an
// optional header line starting with "timestamp"; blank lines and lines starting with '#' are
// skipped. Timestamps are seconds from the start and need not be sorted. InvalidArgument naming
// "<source> line N: <column>" for a bad number, a negative value or a model not in the scenario.
StatusOr<std::vector<Request>> ParseTrace(std::string_view csv, const Scenario& scenario,
                                          std::string_view source = "trace");
// Reads scenario.trace_path and parses it; NotFound when it cannot be read.
StatusOr<std::vector<Request>> LoadTrace(const Scenario& scenario);

// The scenario's trace when it names one, otherwise generated traffic.
StatusOr<std::vector<Request>> ScenarioTraffic(const Scenario& scenario);

}  // namespace cohost::sim
