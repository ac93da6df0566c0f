// The sweep's decisions (pure): does a step meet the latency objective, and what comes next.
//
// A step runs `concurrency` clients against one copy. The objective (Slo) bounds TTFT and
// inter-token latency at a chosen quantile (p99 by default). The sweep doubles the concurrency
// (1, 2, 4, ...) and stops at the first step that has errors, misses the objective, or whose
// decode tokens/s grew by less than `min_growth` over the previous step, or when the next step
// would pass max_concurrency. The best step is the one with the highest concurrency that meets the
// objective and whose tokens/s grew by at least min_growth over the step before it (a step that
// adds only latency is no better than its predecessor): the autoscaling target per copy. With no
// objective every step without errors meets.
// Thread safety: pure functions of values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "profile/stream_load.h"

namespace cohost::profile {

struct Slo {
  double ttft_ms = 0;  // 0: no TTFT objective
  double itl_ms = 0;   // 0: no ITL objective
  bool use_p50 = false;  // judge the p50 instead of the p99
  bool any() const { return ttft_ms > 0 || itl_ms > 0; }
};

struct SweepStep {
  int concurrency = 0;
  LoadResult load;
  bool meets_slo = false;
  std::string verdict;  // "meets", or what broke: "TTFT p99 812.3 ms > 500 ms"
};

// Fills meets_slo and verdict of `step` from its measurements. A step with errors never meets.
void JudgeStep(const Slo& slo, SweepStep& step);

struct SweepPolicy {
  int max_concurrency = 16;
  double min_growth = 0.05;  // stop when tokens/s grows by less than this fraction
};

enum class SweepStop { kNone, kErrors, kSloBroken, kNoGrowth, kLimit };
const char* SweepStopName(SweepStop stop);

// What to do after the last step in `steps` (non-empty, each judged): the next concurrency, or a
// reason to stop (next = 0).
struct SweepNext {
  int concurrency = 0;
  SweepStop stop = SweepStop::kNone;
};
SweepNext DecideNext(const std::vector<SweepStep>& steps, const SweepPolicy& policy);

// Index of the best step (see the header comment), or nullopt when no step meets the objective.
std::optional<size_t> BestStep(const std::vector<SweepStep>& steps, double min_growth = 0.05);

// Index of the step closest to the objective when none meets it (the lowest worst-ratio of
// measured / objective), for "the best reached" in messages. REQUIRES: steps non-empty.
size_t ClosestStep(const Slo& slo, const std::vector<SweepStep>& steps);

}  // namespace cohost::profile
