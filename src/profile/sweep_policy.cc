#include "profile/sweep_policy.h"

#include <algorithm>
#include <cstdio>

namespace cohost::profile {
namespace {

std::string Fmt(const char* what, double value, double bound) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s %.1f ms > %.1f ms", what, value, bound);
  return buf;
}

double WorstRatio(const Slo& slo, const SweepStep& s) {
  double r = 0;
  const double ttft = slo.use_p50 ? s.load.ttft_ms.p50 : s.load.ttft_ms.p99;
  const double itl = slo.use_p50 ? s.load.itl_ms.p50 : s.load.itl_ms.p99;
  if (slo.ttft_ms > 0) r = std::max(r, ttft / slo.ttft_ms);
  if (slo.itl_ms > 0) r = std::max(r, itl / slo.itl_ms);
  if (s.load.errors > 0) r = std::max(r, 1e9);
  return r;
}

}  // namespace

void JudgeStep(const Slo& slo, SweepStep& step) {
  std::vector<std::string> broken;
  if (step.load.errors > 0 || step.load.ok == 0) {
    broken.push_back(std::to_string(step.load.errors) + " of " + std::to_string(step.load.requests) + " requests failed");
  }
  const char* q = slo.use_p50 ? "p50" : "p99";
  const double ttft = slo.use_p50 ? step.load.ttft_ms.p50 : step.load.ttft_ms.p99;
  const double itl = slo.use_p50 ? step.load.itl_ms.p50 : step.load.itl_ms.p99;
  if (slo.ttft_ms > 0 && ttft > slo.ttft_ms) broken.push_back(Fmt((std::string("TTFT ") + q).c_str(), ttft, slo.ttft_ms));
  if (slo.itl_ms > 0 && itl > slo.itl_ms) broken.push_back(Fmt((std::string("ITL ") + q).c_str(), itl, slo.itl_ms));
  step.meets_slo = broken.empty();
  step.verdict.clear();
  for (const auto& b : broken) step.verdict += (step.verdict.empty() ? "" : "; ") + b;
  if (step.meets_slo) step.verdict = slo.any() ? "meets" : "no objective";
}

const char* SweepStopName(SweepStop stop) {
  switch (stop) {
    case SweepStop::kNone: return "none";
    case SweepStop::kErrors: return "errors";
    case SweepStop::kSloBroken: return "slo_broken";
    case SweepStop::kNoGrowth: return "throughput_stopped_growing";
    case SweepStop::kLimit: return "max_concurrency";
  }
  return "?";
}

SweepNext DecideNext(const std::vector<SweepStep>& steps, const SweepPolicy& policy) {
  const SweepStep& last = steps.back();
  if (last.load.errors > 0 || last.load.ok == 0) return {0, SweepStop::kErrors};
  if (!last.meets_slo) return {0, SweepStop::kSloBroken};
  if (steps.size() >= 2) {
    const double before = steps[steps.size() - 2].load.decode_tokens_per_s;
    if (last.load.decode_tokens_per_s < before * (1 + policy.min_growth)) return {0, SweepStop::kNoGrowth};
  }
  const int next = last.concurrency * 2;
  if (next > policy.max_concurrency) return {0, SweepStop::kLimit};
  return {next, SweepStop::kNone};
}

std::optional<size_t> BestStep(const std::vector<SweepStep>& steps, double min_growth) {
  std::optional<size_t> best;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (!steps[i].meets_slo) continue;
    if (i > 0 && steps[i].load.decode_tokens_per_s < steps[i - 1].load.decode_tokens_per_s * (1 + min_growth)) continue;
    if (!best || steps[i].concurrency > steps[*best].concurrency) best = i;
  }
  return best;
}

size_t ClosestStep(const Slo& slo, const std::vector<SweepStep>& steps) {
  size_t best = 0;
  for (size_t i = 1; i < steps.size(); ++i) {
    if (WorstRatio(slo, steps[i]) < WorstRatio(slo, steps[best])) best = i;
  }
  return best;
}

}  // namespace cohost::profile
