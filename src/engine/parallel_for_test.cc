#include "engine/parallel_for.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace cohost::engine {
namespace {

TEST(ParallelForTest, EveryIndexOnceOnSeveralThreads) {
  for (int helpers : {0, 1, 3}) {
    ParallelFor pool(helpers);
    EXPECT_EQ(pool.helpers(), helpers);
    for (int n : {0, 1, 2, 7, 64, 1000}) {
      std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
      std::mutex mu;
      std::set<std::thread::id> threads;
      pool.Run(n, [&](int i) {
        seen[static_cast<size_t>(i)].fetch_add(1);
        std::lock_guard<std::mutex> l(mu);
        threads.insert(std::this_thread::get_id());
      });
      for (int i = 0; i < n; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)].load(), 1) << "n " << n << " i " << i;
      EXPECT_LE(threads.size(), static_cast<size_t>(helpers + 1));
    }
  }
}

TEST(ParallelForTest, RunReturnsOnlyWhenAllWorkIsDone) {
  ParallelFor pool(3);
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> done{0};
    pool.Run(16, [&](int) { done.fetch_add(1); });
    ASSERT_EQ(done.load(), 16) << "round " << round;
  }
}

}  // namespace
}  // namespace cohost::engine
