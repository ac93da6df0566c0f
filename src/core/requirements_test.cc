#include "core/requirements.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cohost {
namespace {

Requirements Req(double accelerators, int64_t memory_mib, double cpu_cores) {
  Requirements r;
  r.accelerators = accelerators;
  r.memory_mib = memory_mib;
  r.cpu_cores = cpu_cores;
  return r;
}

TEST(RequirementsTest, AcceptsSharesWholeDevicesAndCpuOnly) {
  EXPECT_TRUE(Req(0, 0, 0).Validate().ok());
  EXPECT_TRUE(Req(0, 4096, 2).Validate().ok());
  EXPECT_TRUE(Req(0.001, 1, 0.001).Validate().ok());
  EXPECT_TRUE(Req(0.5, 6144, 2).Validate().ok());
  EXPECT_TRUE(Req(1, 16384, 4).Validate().ok());
  EXPECT_TRUE(Req(4, 81920, 16).Validate().ok());
  EXPECT_TRUE(Req(2.0000000001, 1, 1).Validate().ok());  // JSON float noise
}

TEST(RequirementsTest, RefusalsNameTheField) {
  struct Case {
    Requirements r;
    const char* field;
  } cases[] = {
      {Req(-0.5, 1, 1), "compute.accelerators"},
      {Req(std::nan(""), 1, 1), "compute.accelerators"},
      {Req(std::numeric_limits<double>::infinity(), 1, 1), "compute.accelerators"},
      {Req(1.5, 1, 1), "compute.accelerators"},
      {Req(0.0001, 1, 1), "compute.accelerators"},
      {Req(2000, 1, 1), "compute.accelerators"},
      {Req(0.5, -1, 1), "compute.memory_mb"},
      {Req(0.5, kMaxMemoryMib + 1, 1), "compute.memory_mb"},
      {Req(0.5, 1, -1), "compute.cpu_cores"},
      {Req(0.5, 1, 0.0004), "compute.cpu_cores"},
      {Req(0.5, 1, std::nan("")), "compute.cpu_cores"},
  };
  for (const Case& c : cases) {
    Status s = c.r.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_EQ(s.field(), c.field);
    EXPECT_FALSE(s.message().empty());
  }
}

TEST(RequirementsTest, MessagesSayWhatIsAccepted) {
  Status s = Req(1.5, 1, 1).Validate();
  EXPECT_EQ(s.message(),
            "must be a whole number when above 1 (got 1.5); use a value below 1 to "
            "share a device");
  EXPECT_EQ(Req(0.5, 1, 1).Validate("spec.compute").ok(), true);
  EXPECT_EQ(Req(-1, 1, 1).Validate("spec.compute").field(), "spec.compute.accelerators");
  EXPECT_EQ(Req(-1, 1, 1).Validate("").field(), "accelerators");
}

TEST(RequirementsTest, DerivedQuantities) {
  Requirements cpu = Req(0, 1024, 2.5);
  EXPECT_TRUE(cpu.cpu_only());
  EXPECT_EQ(cpu.device_count(), 0);
  EXPECT_EQ(cpu.share_milli_per_device(), 0);
  EXPECT_EQ(cpu.cpu_milli(), 2500);

  Requirements shared = Req(0.25, 1024, 1);
  EXPECT_FALSE(shared.cpu_only());
  EXPECT_EQ(shared.device_count(), 1);
  EXPECT_EQ(shared.share_milli_per_device(), 250);

  Requirements whole = Req(1, 1024, 1);
  EXPECT_EQ(whole.device_count(), 1);
  EXPECT_EQ(whole.share_milli_per_device(), 1000);

  Requirements multi = Req(3, 1024, 1);
  EXPECT_EQ(multi.accelerator_milli(), 3000);
  EXPECT_EQ(multi.device_count(), 3);
  EXPECT_EQ(multi.share_milli_per_device(), 1000);
}

TEST(RequirementsTest, MilliRoundsToTheNearestThousandth) {
  EXPECT_EQ(ToMilli(0.1), 100);
  EXPECT_EQ(ToMilli(1.0 / 3), 333);
  EXPECT_EQ(ToMilli(2.0 / 3), 667);
  EXPECT_EQ(ToMilli(0.0004), 0);
  EXPECT_EQ(ToMilli(0.0005), 1);
  EXPECT_EQ(ToMilli(16), 16000);
}

TEST(RequirementsTest, FormatMilliDropsTrailingZeros) {
  EXPECT_EQ(FormatMilli(0), "0");
  EXPECT_EQ(FormatMilli(250), "0.25");
  EXPECT_EQ(FormatMilli(1), "0.001");
  EXPECT_EQ(FormatMilli(1500), "1.5");
  EXPECT_EQ(FormatMilli(2000), "2");
  EXPECT_EQ(FormatMilli(-250), "-0.25");
}

TEST(RequirementsTest, PlacementStrategyParsesAndNames) {
  EXPECT_EQ(*ParsePlacementStrategy("binpack"), PlacementStrategy::kBinpack);
  EXPECT_EQ(*ParsePlacementStrategy("spread"), PlacementStrategy::kSpread);
  StatusOr<PlacementStrategy> bad = ParsePlacementStrategy("random", "placement.strategy");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().field(), "placement.strategy");
  EXPECT_STREQ(PlacementStrategyName(PlacementStrategy::kBinpack), "binpack");
  EXPECT_STREQ(PlacementStrategyName(PlacementStrategy::kSpread), "spread");
}

}  // namespace
}  // namespace cohost
