#include "policy/routing.h"

#include <cstdint>
#include <string>

namespace cohost::policy {

StatusOr<RoutingStrategy> ParseRoutingStrategy(std::string_view text) {
  if (text == "least_outstanding") return RoutingStrategy::kLeastOutstanding;
  if (text == "random") return RoutingStrategy::kRandom;
  return InvalidArgument("routing", "unknown routing strategy '" + std::string(text) +
                                        "'; expected least_outstanding or random");
}

const char* RoutingStrategyName(RoutingStrategy strategy) {
  switch (strategy) {
    case RoutingStrategy::kLeastOutstanding: return "least_outstanding";
    case RoutingStrategy::kRandom: return "random";
  }
  return "unknown";
}

std::optional<size_t> ChooseCopy(RoutingStrategy strategy, const std::vector<CopyLoad>& copies,
                                 uint64_t draw) {
  // Two passes without allocating: count the candidates (untried, and at the lowest load for
  // least-outstanding), then take the draw-th of them. Copy counts are small.
  int64_t best = INT64_MAX;
  size_t count = 0;
  for (const CopyLoad& c : copies) {
    if (c.tried) continue;
    if (strategy == RoutingStrategy::kRandom) {
      ++count;
    } else if (c.outstanding < best) {
      best = c.outstanding;
      count = 1;
    } else if (c.outstanding == best) {
      ++count;
    }
  }
  if (count == 0) return std::nullopt;
  size_t pick = static_cast<size_t>(draw % count);
  for (size_t i = 0; i < copies.size(); ++i) {
    const CopyLoad& c = copies[i];
    if (c.tried) continue;
    if (strategy == RoutingStrategy::kLeastOutstanding && c.outstanding != best) continue;
    if (pick == 0) return i;
    --pick;
  }
  return std::nullopt;  // unreachable
}

}  // namespace cohost::policy
