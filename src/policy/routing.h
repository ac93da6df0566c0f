// Routing choice: which ready copy of a component serves a request.
//
// Pure: the caller passes the copies' outstanding-request counts, the copies already tried for
// this request, and a random draw; nothing here reads a clock, a random device or shared state.
// Thread safety: free functions on values; call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cohost::policy {

enum class RoutingStrategy {
  kLeastOutstanding,  // fewest requests in flight; ties broken by the draw (default)
  kRandom,            // uniform among the candidates, by the draw
};

// "least_outstanding" or "random"; errors name the field "routing".
StatusOr<RoutingStrategy> ParseRoutingStrategy(std::string_view text);
const char* RoutingStrategyName(RoutingStrategy strategy);

// One ready copy as the router sees it at the moment of choice.
struct CopyLoad {
  int64_t outstanding = 0;  // requests sent to it and not yet finished
  bool tried = false;       // already attempted for this request (failed before the first byte)
};

// Returns the index in `copies` of the copy to use, or nullopt when every copy was tried (or
// there are none). `draw` is a uniformly random 64-bit value (or a round-robin counter) supplied
// by the caller; the same inputs always give the same answer.
std::optional<size_t> ChooseCopy(RoutingStrategy strategy, const std::vector<CopyLoad>& copies,
                                 uint64_t draw);

}  // namespace cohost::policy
