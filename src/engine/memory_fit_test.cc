#include "engine/memory_fit.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "engine/llama_runtime.h"
#include "engine/synthetic_model.h"

namespace cohost::engine {
namespace {

class MemoryFitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    InitLlamaRuntime(false);
    char tmpl[] = "/tmp/cohost-fit-XXXXXX";
    dir_ = mkdtemp(tmpl);
    SyntheticModelOptions o;
    o.vocab_path = DefaultVocabPath();
    o.shape.n_embd = 128;
    o.shape.n_layer = 2;
    o.shape.n_head = 4;
    o.shape.n_head_kv = 2;
    o.shape.n_ff = 256;
    ASSERT_TRUE(WriteSyntheticModel(o, dir_ + "/m.gguf").ok());
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  static ModelOptions Model() { return {dir_ + "/m.gguf", -1, true}; }
  static SchedulerOptions Options() {
    SchedulerOptions o;
    o.context = 512;
    o.parallel = 2;
    o.threads = 1;
    return o;
  }
  static std::string dir_;
};
std::string MemoryFitTest::dir_;

TEST_F(MemoryFitTest, FittingOptionsAreKeptAsTheyAre) {
  auto need = EstimateMemory(Model(), Options());
  ASSERT_TRUE(need.ok()) << need.status().ToString();
  auto fit = FitToMemoryLimit(Model(), Options(), need->total.total_mib());
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_FALSE(fit->shrunk);
  EXPECT_EQ(fit->options.ubatch, Options().ubatch);
  EXPECT_EQ(fit->need.total(), need->total.total());
}

TEST_F(MemoryFitTest, OverTheLimitShrinksTheMicroBatchButNeverTheKvCache) {
  auto full = EstimateMemory(Model(), Options());
  SchedulerOptions smallest = Options();
  smallest.ubatch = kMinFitUbatch;
  auto least = EstimateMemory(Model(), smallest);
  ASSERT_TRUE(full.ok() && least.ok());
  // The logits buffer (vocabulary × micro-batch) makes the compute buffers shrink by megabytes.
  ASSERT_LT(least->total.total_mib(), full->total.total_mib());
  int64_t limit = least->total.total_mib();
  auto fit = FitToMemoryLimit(Model(), Options(), limit);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_TRUE(fit->shrunk);
  EXPECT_LT(fit->options.ubatch, Options().ubatch);
  EXPECT_LE(fit->need.total_mib(), limit);
  EXPECT_EQ(fit->need.kv_bytes, full->total.kv_bytes);
  EXPECT_EQ(fit->options.context, Options().context);
  EXPECT_EQ(fit->options.parallel, Options().parallel);
}

TEST_F(MemoryFitTest, ALimitBelowTheSmallestNeedIsRefusedWithBothNumbers) {
  auto fit = FitToMemoryLimit(Model(), Options(), 1);
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(fit.status().field(), "memory_limit_mib");
  EXPECT_NE(fit.status().message().find("limit is 1 MiB"), std::string::npos) << fit.status().message();
  EXPECT_NE(fit.status().message().find("KV cache"), std::string::npos);
}

TEST_F(MemoryFitTest, NoLimitOnlyMeasures) {
  auto fit = FitToMemoryLimit(Model(), Options(), 0);
  ASSERT_TRUE(fit.ok());
  EXPECT_FALSE(fit->shrunk);
  EXPECT_GT(fit->need.total(), 0u);
  EXPECT_EQ(FitToMemoryLimit(Model(), Options(), -1).status().field(), "memory_limit_mib");
}

}  // namespace
}  // namespace cohost::engine
