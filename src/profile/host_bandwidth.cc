#include "profile/host_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace cohost::profile {

double MeasureReadBandwidth(size_t bytes, int threads, int repeats) {
  const size_t n = bytes / sizeof(uint64_t);
  std::vector<uint64_t> buffer(n);
  for (size_t i = 0; i < n; ++i) buffer[i] = i;
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    std::vector<uint64_t> sums(static_cast<size_t>(threads));
    std::vector<std::thread> pool;
    const auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const size_t lo = n * t / threads, hi = n * (t + 1) / threads;
        uint64_t a = 0, b = 0, c = 0, d = 0;
        size_t i = lo;
        for (; i + 4 <= hi; i += 4) a += buffer[i], b += buffer[i + 1], c += buffer[i + 2], d += buffer[i + 3];
        for (; i < hi; ++i) a += buffer[i];
        sums[static_cast<size_t>(t)] = a + b + c + d;
      });
    }
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    volatile uint64_t sink = 0;
    for (uint64_t v : sums) sink = sink + v;
    (void)sink;
    if (s > 0) best = std::max(best, static_cast<double>(n * sizeof(uint64_t)) / s);
  }
  return best;
}

}  // namespace cohost::profile
