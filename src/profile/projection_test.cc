#include "profile/projection.h"

#include <gtest/gtest.h>

namespace cohost::profile {
namespace {

DeviceType Device(double gib, double gbs, double tflops, double price) {
  return {"D", "Test device", gib, gbs, tflops, price};
}

// 1 GB of weights, 100 KB of KV per token, 1 GFLOP per token.
ModelCost Cost() { return {1e9, 1e5, 1e9}; }

TEST(Projection, RooflineIsTheSlowerOfMemoryAndCompute) {
  Workload w;
  w.prompt_tokens = 100;
  w.output_tokens = 0;  // mean context 100 tokens
  // Memory: (1e9 + 2 × 100 × 1e5) / 1e11 = 0.0102 s. Compute: 2 × 1e9 / 1e12 = 0.002 s.
  EXPECT_DOUBLE_EQ(RooflineStepSeconds(Cost(), w, 1e11, 1e12, 2, 1), 0.0102);
  // Two copies read the weights twice.
  EXPECT_DOUBLE_EQ(RooflineStepSeconds(Cost(), w, 1e11, 1e12, 2, 2), 0.0202);
  // Compute-bound: 1000 streams × 1e9 / 1e12 = 1 s > (1e9 + 1000 × 1e7) / 1e11 = 0.11 s.
  EXPECT_DOUBLE_EQ(RooflineStepSeconds(Cost(), w, 1e11, 1e12, 1000, 1), 1.0);
  // flops 0: compute is no limit.
  EXPECT_DOUBLE_EQ(RooflineStepSeconds(Cost(), w, 1e11, 0, 1000, 1), 0.11);
}

TEST(Projection, EfficiencyIsRooflineOverMeasuredAndClamped) {
  EXPECT_DOUBLE_EQ(MeasuredEfficiency(0.01, 0.04), 0.25);
  EXPECT_DOUBLE_EQ(MeasuredEfficiency(0.05, 0.04), 1.0);
  EXPECT_DOUBLE_EQ(MeasuredEfficiency(0.01, 0), 0);
  EXPECT_DOUBLE_EQ(MeasuredEfficiency(1e-9, 10), 0.001);
}

TEST(Projection, DoesNotFit) {
  Workload w;
  auto p = Project(Device(24, 300, 100, 1), Cost(), {30000, 29000, 1000, 256}, w, 0.5, 64);
  EXPECT_FALSE(p.fits);
  EXPECT_FALSE(p.serves_rate);
  EXPECT_NE(p.note.find("needs 30000 MiB"), std::string::npos) << p.note;
  EXPECT_NE(p.note.find("24576 MiB"), std::string::npos);
}

TEST(Projection, OperatingPointMeetsTheItlObjective) {
  Workload w;
  w.prompt_tokens = 100;
  w.output_tokens = 100;  // mean context 150
  w.slo_itl_ms = 20;
  // 8 GiB device: 2000 MiB fixed, 48 MiB per slot: room for 129 slots. BW 100 GB/s.
  DeviceType d = Device(8, 100, 1000, 2.0);
  const CopyShape shape{2096, 2000, 48, 256};
  auto p = Project(d, Cost(), shape, w, 0.5, 64);
  ASSERT_TRUE(p.fits);
  EXPECT_EQ(p.max_copies_per_device, 3);  // 8192 / 2096
  // step(b) = (1e9 + b × 150 × 1e5) / 1e11 / 0.5 = 0.02 + 0.0003 b: at 20 ms not even one stream.
  EXPECT_FALSE(p.meets_slo);
  // At 25 ms: b <= 16.67, so 16 slots at 24.8 ms.
  w.slo_itl_ms = 25;
  p = Project(d, Cost(), shape, w, 0.5, 64);
  ASSERT_TRUE(p.meets_slo);
  EXPECT_EQ(p.slots_per_copy, 16);
  EXPECT_NEAR(p.itl_ms, 24.8, 1e-9);
  // Without an objective, memory is the limit: 129 slots, and more tokens/s.
  w.slo_itl_ms = 0;
  auto free = Project(d, Cost(), shape, w, 0.5, 64);
  EXPECT_EQ(free.slots_per_copy, 129);
  EXPECT_GT(free.tokens_per_s, p.tokens_per_s);
  // And max_slots caps it.
  auto capped = Project(d, Cost(), {2096, 2000, 48, 8}, w, 0.5, 64);
  EXPECT_EQ(capped.slots_per_copy, 8);
}

TEST(Projection, AnObjectiveNothingMeets) {
  Workload w;
  w.slo_itl_ms = 1;
  auto p = Project(Device(8, 100, 1000, 2.0), Cost(), {2096, 2000, 48, 256}, w, 0.5, 64);
  EXPECT_TRUE(p.fits);
  EXPECT_FALSE(p.meets_slo);
  EXPECT_GT(p.itl_ms, 1);
  EXPECT_NE(p.note.find("above the 1 ms objective"), std::string::npos) << p.note;
}

TEST(Projection, DevicesAndCostForTheRate) {
  Workload w;
  w.prompt_tokens = 100;
  w.output_tokens = 100;
  w.rate_rps = 10;
  DeviceType d = Device(8, 100, 1000, 2.0);
  auto p = Project(d, Cost(), {8100, 8000, 100, 256}, w, 1.0, 64);  // memory for one slot only
  ASSERT_TRUE(p.serves_rate) << p.note;
  // step = (1e9 + 150 × 1e5) / 1e11 = 0.01015 s; decode 100 tokens = 1.015 s; prefill
  // 100 × 1e9 / 1e15 = 1e-4 s: 1 / 1.0151 req/s per device; 10 req/s needs 11 devices.
  EXPECT_NEAR(p.requests_per_s, 1 / 1.0151, 1e-9);
  EXPECT_EQ(p.devices_for_rate, 11);
  EXPECT_DOUBLE_EQ(p.cost_per_hour, 22.0);
  // 22 USD/h for 10 × 100 tokens/s = 3.6 M tokens/h.
  EXPECT_NEAR(p.cost_per_million_tokens, 22.0 / 3.6, 1e-9);
  // The same rate with a device limit of 10 cannot be served.
  auto capped = Project(d, Cost(), {8100, 8000, 100, 256}, w, 1.0, 10);
  EXPECT_FALSE(capped.serves_rate);
  EXPECT_EQ(capped.devices_for_rate, 0);
  EXPECT_NE(capped.note.find("above the limit of 10"), std::string::npos) << capped.note;
}

TEST(Projection, LowerEfficiencyMeansSlowerAndDearer) {
  Workload w;
  DeviceType d = Device(80, 2000, 300, 5.0);
  auto fast = Project(d, Cost(), {4096, 4000, 12, 8}, w, 0.8, 64);
  auto slow = Project(d, Cost(), {4096, 4000, 12, 8}, w, 0.2, 64);
  EXPECT_GT(fast.tokens_per_s, slow.tokens_per_s);
  EXPECT_LT(fast.cost_per_million_tokens, slow.cost_per_million_tokens);
}

}  // namespace
}  // namespace cohost::profile
