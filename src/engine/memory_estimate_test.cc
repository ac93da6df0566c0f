#include "engine/memory_estimate.h"

#include <gtest/gtest.h>
#include <llama.h>
#include <stdlib.h>

#include <filesystem>

#include "engine/context_params.h"
#include "engine/llama_runtime.h"
#include "engine/synthetic_model.h"

namespace cohost::engine {
namespace {

class MemoryEstimateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    InitLlamaRuntime(false);
    char tmpl[] = "/tmp/cohost-mem-XXXXXX";
    dir_ = mkdtemp(tmpl);
    for (auto [name, embd, layers] :
         {std::tuple{"a", 128, 2}, std::tuple{"b", 256, 4}, std::tuple{"c", 512, 6}}) {
      SyntheticModelOptions o;
      o.vocab_path = DefaultVocabPath();
      o.shape.n_embd = embd;
      o.shape.n_layer = layers;
      o.shape.n_head = 4;
      o.shape.n_head_kv = 2;
      o.shape.n_ff = embd * 2;
      ASSERT_TRUE(WriteSyntheticModel(o, dir_ + "/" + name + ".gguf").ok());
    }
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  // What a real (allocated) context of these options holds.
  static MemoryEstimate Actual(const std::string& path, const SchedulerOptions& o) {
    auto model = Model::Load({path, -1, true});
    EXPECT_TRUE(model.ok());
    llama_context* ctx = llama_init_from_model((*model)->raw(), MakeContextParams(o));
    MemoryEstimate m = MeasureContext(ctx);
    llama_free(ctx);
    return m;
  }

  static std::string dir_;
};
std::string MemoryEstimateTest::dir_;

TEST_F(MemoryEstimateTest, DryRunMatchesTheRealAllocation) {
  for (const char* name : {"a", "b"}) {
    for (auto [context, parallel] : {std::pair{256, 1}, std::pair{512, 4}, std::pair{1024, 8}}) {
      SCOPED_TRACE(std::string(name) + " " + std::to_string(context) + "x" + std::to_string(parallel));
      SchedulerOptions o;
      o.context = context;
      o.parallel = parallel;
      o.threads = 1;
      std::string path = dir_ + "/" + name + ".gguf";
      auto est = EstimateMemory({path, -1, true}, o);
      ASSERT_TRUE(est.ok()) << est.status().ToString();
      MemoryEstimate real = Actual(path, o);
      EXPECT_GT(est->total.weights_bytes, 0u);
      EXPECT_GT(est->total.kv_bytes, 0u);
      // Stated tolerance: within 1% (and 64 KiB) of what llama.cpp really allocates.
      auto near = [](uint64_t a, uint64_t b) {
        uint64_t d = a > b ? a - b : b - a;
        return d <= std::max<uint64_t>(65536, b / 100);
      };
      EXPECT_TRUE(near(est->total.weights_bytes, real.total.weights_bytes))
          << est->total.weights_bytes << " vs " << real.total.weights_bytes;
      EXPECT_TRUE(near(est->total.kv_bytes, real.total.kv_bytes))
          << est->total.kv_bytes << " vs " << real.total.kv_bytes;
      EXPECT_TRUE(near(est->total.compute_bytes, real.total.compute_bytes))
          << est->total.compute_bytes << " vs " << real.total.compute_bytes;
    }
  }
}

TEST_F(MemoryEstimateTest, KvCacheGrowsWithContextTimesSlots) {
  SchedulerOptions small, big;
  small.context = 256;
  small.parallel = 2;
  big.context = 512;
  big.parallel = 4;
  small.threads = big.threads = 1;
  auto a = EstimateMemory({dir_ + "/a.gguf", -1, true}, small);
  auto b = EstimateMemory({dir_ + "/a.gguf", -1, true}, big);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(b->total.kv_bytes, 4 * a->total.kv_bytes);
  EXPECT_EQ(b->total.weights_bytes, a->total.weights_bytes);
  EXPECT_GE(b->total.total_mib(), static_cast<int64_t>(b->total.total() >> 20));
}

// The right-sizer's table: for 1, 2, 4, 8 slots, the planned need against what llama.cpp really
// allocates for a context of that many slots, for three generated models of different sizes.
// Stated tolerance: each part within 1% or 64 KiB of the real allocation.
TEST_F(MemoryEstimateTest, PlanMatchesTheRealAllocationForEachSlotCount) {
  auto near = [](uint64_t a, uint64_t b) {
    uint64_t d = a > b ? a - b : b - a;
    return d <= std::max<uint64_t>(65536, b / 100);
  };
  for (const char* name : {"a", "b", "c"}) {
    std::string path = dir_ + "/" + name + ".gguf";
    SchedulerOptions o;
    o.context = 512;
    o.threads = 1;
    auto plan = PlanMemory({path, -1, true}, o, {1, 2, 4, 8});
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    ASSERT_EQ(plan->by_slots.size(), 4u);
    EXPECT_EQ(plan->context, 512);
    uint64_t previous_kv = 0;
    for (const SlotsNeed& need : plan->by_slots) {
      SCOPED_TRACE(std::string(name) + " slots " + std::to_string(need.slots));
      SchedulerOptions real_options = o;
      real_options.parallel = need.slots;
      real_options.batch = std::max(real_options.batch, need.slots);
      MemoryEstimate real = Actual(path, real_options);
      EXPECT_TRUE(near(need.breakdown.weights_bytes, real.total.weights_bytes));
      EXPECT_TRUE(near(need.breakdown.kv_bytes, real.total.kv_bytes))
          << need.breakdown.kv_bytes << " vs " << real.total.kv_bytes;
      EXPECT_TRUE(near(need.breakdown.compute_bytes, real.total.compute_bytes))
          << need.breakdown.compute_bytes << " vs " << real.total.compute_bytes;
      EXPECT_TRUE(near(need.breakdown.total(), real.total.total()));
      // KV per token times the tokens held is the KV part.
      EXPECT_TRUE(near(static_cast<uint64_t>(plan->kv_bytes_per_token * 512 * need.slots),
                       need.breakdown.kv_bytes));
      EXPECT_GT(need.breakdown.kv_bytes, previous_kv);
      previous_kv = need.breakdown.kv_bytes;
      EXPECT_EQ(need.breakdown.weights_bytes, plan->weights_bytes);
    }
  }
  // A wider, deeper model needs more weights and more KV per token.
  SchedulerOptions o;
  o.threads = 1;
  o.context = 256;
  auto small = PlanMemory({dir_ + "/a.gguf", -1, true}, o, {1});
  auto large = PlanMemory({dir_ + "/c.gguf", -1, true}, o, {1});
  ASSERT_TRUE(small.ok() && large.ok());
  EXPECT_GT(large->weights_bytes, small->weights_bytes);
  EXPECT_GT(large->kv_bytes_per_token, small->kv_bytes_per_token);
  EXPECT_GT(large->n_params, small->n_params);
  EXPECT_GT(small->n_params, 0u);
}

TEST_F(MemoryEstimateTest, PlanRefusesBadSlotCounts) {
  SchedulerOptions o;
  EXPECT_EQ(PlanMemory({dir_ + "/a.gguf", -1, true}, o, {}).status().field(), "slots");
  EXPECT_EQ(PlanMemory({dir_ + "/a.gguf", -1, true}, o, {1, 0}).status().field(), "slots");
  EXPECT_EQ(PlanMemory({"/nonexistent.gguf", -1, true}, o, {1}).status().code(), StatusCode::kNotFound);
}

TEST_F(MemoryEstimateTest, BadInput) {
  SchedulerOptions o;
  EXPECT_EQ(EstimateMemory({"/nonexistent.gguf", -1, true}, o).status().code(), StatusCode::kNotFound);
  o.parallel = 0;
  EXPECT_EQ(EstimateMemory({dir_ + "/a.gguf", -1, true}, o).status().field(), "parallel");
}

}  // namespace
}  // namespace cohost::engine
