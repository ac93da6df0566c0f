// Placement with a per-process device overhead (issue 13): every copy reserves its own memory
// plus the overhead of each device it is placed on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/placement.h"

namespace cohost::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

DeviceLoad Dev(std::string id, int64_t memory_mib, int64_t overhead_mib,
               DeviceKind kind = DeviceKind::kCuda, std::string link_group = "") {
  DeviceLoad d;
  d.id = std::move(id);
  d.kind = kind;
  d.memory_mib = memory_mib;
  d.process_overhead_mib = overhead_mib;
  d.link_group = std::move(link_group);
  return d;
}

NodeSnapshot Node(std::vector<DeviceLoad> devices) {
  NodeSnapshot s;
  s.devices = std::move(devices);
  s.cpu_milli = ToMilli(64);
  return s;
}

Requirements Req(double accelerators, int64_t memory_mib) {
  Requirements r;
  r.accelerators = accelerators;
  r.memory_mib = memory_mib;
  r.cpu_cores = 0.5;
  return r;
}

TEST(PlacementOverheadTest, EachCopyReservesItsMemoryPlusTheDeviceOverhead) {
  NodeSnapshot s = Node({Dev("gpu0", 16384, 500)});
  StatusOr<Assignment> a = PlaceCopy(s, Req(0.25, 2048), PlacementStrategy::kBinpack);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_THAT(a->devices, ElementsAre(DeviceReservation{"gpu0", 2548, 250, 500}));
  EXPECT_EQ(a->buffers_limit_mib(), 2048);
  ASSERT_TRUE(ApplyAssignment(*a, &s).ok());
  EXPECT_EQ(s.devices[0].memory_used_mib, 2548);
  ASSERT_TRUE(ReleaseAssignment(*a, &s).ok());
  EXPECT_EQ(s.devices[0].memory_used_mib, 0);
}

// The arithmetic: small copies whose dry run says they fit four to a device fit only two
// once each process's own device memory is counted.
TEST(PlacementOverheadTest, OverheadLimitsHowManySmallCopiesShareADevice) {
  for (int64_t overhead : {0, 500}) {
    NodeSnapshot s = Node({Dev("gpu0", 4096, overhead)});
    int placed = 0;
    PlacementRefusal refusal;
    for (;;) {
      StatusOr<Assignment> a = PlaceCopy(s, Req(0.1, 1000), PlacementStrategy::kBinpack, &refusal);
      if (!a.ok()) break;
      ASSERT_TRUE(ApplyAssignment(*a, &s).ok());
      ++placed;
    }
    EXPECT_EQ(placed, overhead == 0 ? 4 : 2) << "overhead " << overhead;
    EXPECT_EQ(refusal.resource, PlacementResource::kMemory);
    EXPECT_EQ(refusal.needed, 1000 + overhead);
    EXPECT_EQ(refusal.available, 4096 - placed * (1000 + overhead));
    EXPECT_EQ(refusal.missing, refusal.needed - refusal.available);
    if (overhead > 0) {
      EXPECT_THAT(refusal.message, HasSubstr("1500 MiB (1000 MiB + 500 MiB per-process overhead)"));
    } else {
      EXPECT_THAT(refusal.message, ::testing::Not(HasSubstr("overhead")));
    }
  }
}

TEST(PlacementOverheadTest, FitIsExactAtTheBoundary) {
  NodeSnapshot s = Node({Dev("gpu0", 4096, 96)});
  EXPECT_TRUE(PlaceCopy(s, Req(1, 4000), PlacementStrategy::kBinpack).ok());
  PlacementRefusal refusal;
  EXPECT_FALSE(PlaceCopy(s, Req(1, 4001), PlacementStrategy::kBinpack, &refusal).ok());
  EXPECT_EQ(refusal.missing, 1);
  EXPECT_EQ(refusal.needed, 4097);
}

// Devices of different types have different overheads; a copy goes where its memory and that
// device's overhead both fit, and the refusal names the device with the most room for it.
TEST(PlacementOverheadTest, OverheadIsPerDevice) {
  NodeSnapshot s = Node({Dev("gpu0", 4096, 2000), Dev("gpu1", 4096, 100)});
  StatusOr<Assignment> a = PlaceCopy(s, Req(0.5, 3000), PlacementStrategy::kBinpack);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_THAT(a->devices, ElementsAre(DeviceReservation{"gpu1", 3100, 500, 100}));

  PlacementRefusal refusal;
  EXPECT_FALSE(PlaceCopy(s, Req(0.5, 4000), PlacementStrategy::kBinpack, &refusal).ok());
  EXPECT_EQ(refusal.needed, 4100);  // on gpu1, the device with the most room
  EXPECT_EQ(refusal.available, 4096);
  EXPECT_THAT(refusal.devices, ElementsAre("gpu0", "gpu1"));
}

TEST(PlacementOverheadTest, MultiDeviceCopiesPayTheOverheadOnEachDevice) {
  NodeSnapshot s = Node({Dev("gpu0", 8192, 300, DeviceKind::kCuda, "nv"),
                         Dev("gpu1", 8192, 300, DeviceKind::kCuda, "nv")});
  StatusOr<Assignment> a = PlaceCopy(s, Req(2, 1000), PlacementStrategy::kBinpack);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_THAT(a->devices, ElementsAre(DeviceReservation{"gpu0", 1300, 1000, 300},
                                      DeviceReservation{"gpu1", 1300, 1000, 300}));
  EXPECT_EQ(a->buffers_limit_mib(), 2000);
}

TEST(PlacementOverheadTest, CpuOnlyCopiesPayTheHostOverhead) {
  NodeSnapshot s =
      Node({Dev("vgpu0", 8192, 40, DeviceKind::kVirtual), Dev("cpu", 8192, 40, DeviceKind::kCpu)});
  StatusOr<Assignment> a = PlaceCopy(s, Req(0, 1000), PlacementStrategy::kBinpack);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_THAT(a->devices, ElementsAre(DeviceReservation{"cpu", 1040, 0, 40}));
  PlacementRefusal refusal;
  EXPECT_FALSE(PlaceCopy(s, Req(0, 8160), PlacementStrategy::kBinpack, &refusal).ok());
  EXPECT_THAT(refusal.message,
              HasSubstr("not enough host memory: the copy needs 8200 MiB (8160 MiB + 40 MiB"));
}

TEST(PlacementOverheadTest, SnapshotFromInventoryCarriesTheOverhead) {
  DeviceInventory inv;
  inv.devices.push_back({"gpu0", "NVIDIA H200", DeviceKind::kCuda, 143771, ""});
  inv.devices[0].process_overhead_mib = 489;
  inv.cpu_cores = 8;
  NodeSnapshot s = SnapshotFromInventory(inv);
  ASSERT_EQ(s.devices.size(), 1u);
  EXPECT_EQ(s.devices[0].process_overhead_mib, 489);
  EXPECT_EQ(s.devices[0].memory_used_mib, 0);  // the overhead is reserved per copy, not up front
}

}  // namespace
}  // namespace cohost::policy
