#include "net/descriptor_limit.h"

#include <sys/resource.h>

#include <algorithm>

#include "net/http_limits.h"

namespace cohost::net {

long DescriptorLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  return rl.rlim_cur == RLIM_INFINITY ? 1L << 30 : static_cast<long>(rl.rlim_cur);
}

long RaiseDescriptorLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &raised);  // on failure the old limit stays
  }
  return DescriptorLimit();
}

int EffectiveMaxConnections(const HttpLimits& limits, long descriptors) {
  if (limits.max_connections > 0) return limits.max_connections;
  if (descriptors <= 0) return 1000;
  return static_cast<int>(std::clamp(descriptors / 2, 8L, 10000L));
}

}  // namespace cohost::net
