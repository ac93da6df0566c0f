#include "policy/placement.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cohost::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr PlacementStrategy kBinpack = PlacementStrategy::kBinpack;
constexpr PlacementStrategy kSpread = PlacementStrategy::kSpread;

DeviceLoad Gpu(std::string id, int64_t memory_mib, int64_t memory_used_mib = 0,
               int64_t share_used_milli = 0, std::string link_group = "") {
  DeviceLoad d;
  d.id = std::move(id);
  d.kind = DeviceKind::kCuda;
  d.memory_mib = memory_mib;
  d.memory_used_mib = memory_used_mib;
  d.share_used_milli = share_used_milli;
  d.link_group = std::move(link_group);
  return d;
}

DeviceLoad Host(int64_t memory_mib, int64_t memory_used_mib = 0) {
  DeviceLoad d;
  d.id = "cpu";
  d.kind = DeviceKind::kCpu;
  d.memory_mib = memory_mib;
  d.memory_used_mib = memory_used_mib;
  return d;
}

NodeSnapshot Node(std::vector<DeviceLoad> devices, double cpu_cores = 64) {
  NodeSnapshot s;
  s.devices = std::move(devices);
  s.cpu_milli = ToMilli(cpu_cores);
  return s;
}

Requirements Req(double accelerators, int64_t memory_mib, double cpu_cores = 1) {
  Requirements r;
  r.accelerators = accelerators;
  r.memory_mib = memory_mib;
  r.cpu_cores = cpu_cores;
  return r;
}

// Places a copy and applies it; fails the test if it does not fit.
Assignment PlaceAndApply(NodeSnapshot* s, const Requirements& r, PlacementStrategy strategy) {
  StatusOr<Assignment> a = PlaceCopy(*s, r, strategy);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  if (!a.ok()) return {};
  Status applied = ApplyAssignment(*a, s);
  EXPECT_TRUE(applied.ok()) << applied.ToString();
  return *a;
}

PlacementRefusal Refuse(const NodeSnapshot& s, const Requirements& r,
                        PlacementStrategy strategy = kBinpack) {
  PlacementRefusal refusal;
  StatusOr<Assignment> a = PlaceCopy(s, r, strategy, &refusal);
  EXPECT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(a.status().message(), refusal.message);
  EXPECT_EQ(refusal.missing, refusal.needed - refusal.available);
  EXPECT_GT(refusal.missing, 0);
  return refusal;
}

// --- strategy choice -----------------------------------------------------------------------------

TEST(PlacementTest, BinpackFillsTheFullestDeviceThatFits) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384), Gpu("gpu1", 16384, 4096, 500)});
  StatusOr<Assignment> a = PlaceCopy(s, Req(0.25, 2048), kBinpack);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_THAT(a->device_ids(), ElementsAre("gpu1"));
  EXPECT_EQ(a->devices[0], (DeviceReservation{"gpu1", 2048, 250}));
  EXPECT_EQ(a->cpu_milli, 1000);
}

TEST(PlacementTest, SpreadPicksTheEmptiestDevice) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384, 4096, 500), Gpu("gpu1", 16384)});
  StatusOr<Assignment> a = PlaceCopy(s, Req(0.25, 2048), kSpread);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->device_ids(), ElementsAre("gpu1"));
}

TEST(PlacementTest, BinpackSkipsAFullerDeviceThatDoesNotFit) {
  NodeSnapshot s =
      Node({Gpu("gpu0", 16384, 1000, 800), Gpu("gpu1", 16384, 1000, 500), Gpu("gpu2", 16384)});
  StatusOr<Assignment> a = PlaceCopy(s, Req(0.5, 1024), kBinpack);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->device_ids(), ElementsAre("gpu1"));
}

TEST(PlacementTest, EqualShareIsDecidedByFreeMemory) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384, 1024, 250), Gpu("gpu1", 16384, 8192, 250)});
  EXPECT_THAT(PlaceCopy(s, Req(0.25, 1024), kBinpack)->device_ids(), ElementsAre("gpu1"));
  EXPECT_THAT(PlaceCopy(s, Req(0.25, 1024), kSpread)->device_ids(), ElementsAre("gpu0"));
}

TEST(PlacementTest, TiesGoToTheEarlierDevice) {
  NodeSnapshot s = Node({Gpu("gpu0", 8192), Gpu("gpu1", 8192), Gpu("gpu2", 8192)});
  EXPECT_THAT(PlaceCopy(s, Req(0.5, 1024), kBinpack)->device_ids(), ElementsAre("gpu0"));
  EXPECT_THAT(PlaceCopy(s, Req(0.5, 1024), kSpread)->device_ids(), ElementsAre("gpu0"));
}

TEST(PlacementTest, BinpackStacksCopiesSpreadDealsThemOut) {
  NodeSnapshot packed = Node({Gpu("gpu0", 16384), Gpu("gpu1", 16384)});
  NodeSnapshot spread = packed;
  std::vector<std::string> packed_ids, spread_ids;
  for (int i = 0; i < 4; ++i) {
    packed_ids.push_back(PlaceAndApply(&packed, Req(0.25, 1024), kBinpack).devices[0].device_id);
    spread_ids.push_back(PlaceAndApply(&spread, Req(0.25, 1024), kSpread).devices[0].device_id);
  }
  EXPECT_THAT(packed_ids, ElementsAre("gpu0", "gpu0", "gpu0", "gpu0"));
  EXPECT_THAT(spread_ids, ElementsAre("gpu0", "gpu1", "gpu0", "gpu1"));
}

// --- fractional sharing --------------------------------------------------------------------------

TEST(PlacementTest, FractionalCopiesShareOneDeviceUpToOneWhole) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384)});
  for (int i = 0; i < 4; ++i) PlaceAndApply(&s, Req(0.25, 1024), kBinpack);
  EXPECT_EQ(s.devices[0].share_used_milli, 1000);
  PlacementRefusal r = Refuse(s, Req(0.25, 1024));
  EXPECT_EQ(r.resource, PlacementResource::kAcceleratorShare);
  EXPECT_EQ(r.needed, 250);
  EXPECT_EQ(r.available, 0);
  EXPECT_EQ(r.missing, 250);
  EXPECT_THAT(r.devices, ElementsAre("gpu0"));
}

TEST(PlacementTest, TenthsAddUpExactlyWithoutFloatDrift) {
  // 0.1 added ten times in doubles is 0.9999999999999999; in milli-units it is exactly 1000.
  NodeSnapshot s = Node({Gpu("gpu0", 16384)});
  for (int i = 0; i < 10; ++i) PlaceAndApply(&s, Req(0.1, 100), kBinpack);
  EXPECT_EQ(s.devices[0].share_used_milli, 1000);
  EXPECT_EQ(Refuse(s, Req(0.1, 100)).resource, PlacementResource::kAcceleratorShare);
}

TEST(PlacementTest, ThirdsRoundToThousandthsAndThreeFit) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384)});
  for (int i = 0; i < 3; ++i) PlaceAndApply(&s, Req(1.0 / 3, 100), kBinpack);
  EXPECT_EQ(s.devices[0].share_used_milli, 999);
  PlacementRefusal r = Refuse(s, Req(0.002, 100));
  EXPECT_EQ(r.missing, 1);
  EXPECT_THAT(r.message, HasSubstr("needs 0.002 of one device"));
  EXPECT_THAT(r.message, HasSubstr("short by 0.001"));
}

TEST(PlacementTest, ShareRefusalNamesTheBestDeviceAndEachDevicesFreeShare) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384, 0, 1000), Gpu("gpu1", 16384, 0, 750)});
  PlacementRefusal r = Refuse(s, Req(0.5, 1024));
  EXPECT_EQ(r.resource, PlacementResource::kAcceleratorShare);
  EXPECT_EQ(r.available, 250);
  EXPECT_EQ(r.missing, 250);
  EXPECT_THAT(r.devices, ElementsAre("gpu0", "gpu1"));
  EXPECT_EQ(r.message,
            "not enough accelerator share: the copy needs 0.5 of one device; the most free on any "
            "device is 0.25 (gpu1), short by 0.25 [gpu0: 0 free, gpu1: 0.25 free]");
}

TEST(PlacementTest, OneWholeAcceleratorNeedsADeviceNobodyShares) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384, 100, 100), Gpu("gpu1", 16384)});
  StatusOr<Assignment> a = PlaceCopy(s, Req(1, 1024), kBinpack);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->devices[0], (DeviceReservation{"gpu1", 1024, 1000}));
}

// --- memory --------------------------------------------------------------------------------------

TEST(PlacementTest, ExactFitUsesTheLastMebibyte) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384, 8192, 500)});
  PlaceAndApply(&s, Req(0.5, 8192), kBinpack);
  EXPECT_EQ(s.devices[0].memory_free_mib(), 0);
  EXPECT_EQ(s.devices[0].share_free_milli(), 0);
}

TEST(PlacementTest, MemoryRefusalNamesShortfallAndDevices) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384, 12288), Gpu("gpu1", 16384, 15360)});
  PlacementRefusal r = Refuse(s, Req(0.5, 6144));
  EXPECT_EQ(r.resource, PlacementResource::kMemory);
  EXPECT_EQ(r.needed, 6144);
  EXPECT_EQ(r.available, 4096);
  EXPECT_EQ(r.missing, 2048);
  EXPECT_THAT(r.devices, ElementsAre("gpu0", "gpu1"));
  EXPECT_EQ(r.message,
            "not enough device memory: the copy needs 6144 MiB on one device; the most free on a "
            "device with enough accelerator share is 4096 MiB, short by 2048 MiB [gpu0: 4096 MiB "
            "free, gpu1: 1024 MiB free]");
  EXPECT_EQ(r.ToStatus().code(), StatusCode::kResourceExhausted);
}

TEST(PlacementTest, MemoryOnlyCountsOnDevicesWithEnoughShare) {
  // gpu0 has the memory but no share left; gpu1 has share but too little memory.
  NodeSnapshot s = Node({Gpu("gpu0", 32768, 0, 1000), Gpu("gpu1", 8192, 6144, 0)});
  PlacementRefusal r = Refuse(s, Req(0.5, 4096));
  EXPECT_EQ(r.resource, PlacementResource::kMemory);
  EXPECT_EQ(r.available, 2048);
  EXPECT_THAT(r.devices, ElementsAre("gpu1"));
}

TEST(PlacementTest, OverCommittedInputCountsAsFull) {
  // A snapshot may report more used than total (a device whose free memory shrank underneath).
  NodeSnapshot s = Node({Gpu("gpu0", 8192, 9000, 0)});
  PlacementRefusal r = Refuse(s, Req(0.5, 1));
  EXPECT_EQ(r.resource, PlacementResource::kMemory);
  EXPECT_EQ(r.available, 0);
}

// --- multi-device copies and link groups ---------------------------------------------------------

TEST(PlacementTest, MultiDeviceCopyTakesWholeUnusedDevices) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384, 1024, 100), Gpu("gpu1", 16384), Gpu("gpu2", 16384)});
  StatusOr<Assignment> a = PlaceCopy(s, Req(2, 8192), kBinpack);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->devices, UnorderedElementsAre(DeviceReservation{"gpu1", 8192, 1000},
                                               DeviceReservation{"gpu2", 8192, 1000}));
}

TEST(PlacementTest, MultiDeviceCopyStaysInOneLinkGroup) {
  NodeSnapshot s =
      Node({Gpu("gpu0", 16384, 0, 0, "nvlink-a"), Gpu("gpu1", 16384, 0, 500, "nvlink-a"),
            Gpu("gpu2", 16384, 0, 0, "nvlink-b"), Gpu("gpu3", 16384, 0, 0, "nvlink-b")});
  for (PlacementStrategy strategy : {kBinpack, kSpread}) {
    StatusOr<Assignment> a = PlaceCopy(s, Req(2, 8192), strategy);
    ASSERT_TRUE(a.ok());
    EXPECT_THAT(a->device_ids(), UnorderedElementsAre("gpu2", "gpu3"));
  }
}

TEST(PlacementTest, LinkGroupBeatsStrategyOrderAcrossGroups) {
  // By free memory alone binpack would pick gpu0 and gpu2 (the fullest), which share no link.
  NodeSnapshot s = Node({Gpu("gpu0", 16384, 8192, 0, "a"), Gpu("gpu1", 16384, 0, 0, "a"),
                         Gpu("gpu2", 16384, 8192, 0, "b"), Gpu("gpu3", 16384, 0, 500, "b")});
  StatusOr<Assignment> a = PlaceCopy(s, Req(2, 4096), kBinpack);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->device_ids(), UnorderedElementsAre("gpu0", "gpu1"));
}

TEST(PlacementTest, BinpackTakesTheSmallestGroupThatHoldsItSpreadTheLargest) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384, 0, 0, "quad"), Gpu("gpu1", 16384, 0, 0, "quad"),
                         Gpu("gpu2", 16384, 0, 0, "quad"), Gpu("gpu3", 16384, 0, 0, "quad"),
                         Gpu("gpu4", 16384, 0, 0, "pair"), Gpu("gpu5", 16384, 0, 0, "pair")});
  EXPECT_THAT(PlaceCopy(s, Req(2, 1024), kBinpack)->device_ids(),
              UnorderedElementsAre("gpu4", "gpu5"));
  EXPECT_THAT(PlaceCopy(s, Req(2, 1024), kSpread)->device_ids(),
              UnorderedElementsAre("gpu0", "gpu1"));
  // Three devices only fit in the quad.
  EXPECT_THAT(PlaceCopy(s, Req(3, 1024), kBinpack)->device_ids(),
              UnorderedElementsAre("gpu0", "gpu1", "gpu2"));
}

TEST(PlacementTest, WithoutAGroupThatHoldsItTheCopySpansGroups) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384, 0, 0, "a"), Gpu("gpu1", 16384, 0, 300, "a"),
                         Gpu("gpu2", 16384, 0, 0, "b"), Gpu("gpu3", 16384)});
  StatusOr<Assignment> a = PlaceCopy(s, Req(3, 1024), kBinpack);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->device_ids(), UnorderedElementsAre("gpu0", "gpu2", "gpu3"));
}

TEST(PlacementTest, GroupMembersWithoutMemoryDoNotCount) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384, 0, 0, "a"), Gpu("gpu1", 8192, 0, 0, "a"),
                         Gpu("gpu2", 16384, 0, 0, "b"), Gpu("gpu3", 16384, 0, 0, "b")});
  StatusOr<Assignment> a = PlaceCopy(s, Req(2, 12288), kBinpack);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->device_ids(), UnorderedElementsAre("gpu2", "gpu3"));
}

TEST(PlacementTest, MultiDeviceRefusalCountsMissingUnusedDevices) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384, 0, 250), Gpu("gpu1", 16384), Gpu("gpu2", 16384, 0, 1)});
  PlacementRefusal r = Refuse(s, Req(2, 1024));
  EXPECT_EQ(r.resource, PlacementResource::kAcceleratorShare);
  EXPECT_EQ(r.needed, 2000);
  EXPECT_EQ(r.available, 1000);
  EXPECT_EQ(r.missing, 1000);
  EXPECT_THAT(r.devices, ElementsAre("gpu0", "gpu2"));
  EXPECT_THAT(r.message, HasSubstr("needs 2 whole devices with no other copy on them"));
  EXPECT_THAT(r.message, HasSubstr("1 is unused (gpu1: 1 free)"));
  EXPECT_THAT(r.message, HasSubstr("short by 1 device"));
}

TEST(PlacementTest, MultiDeviceMemoryRefusalUsesTheKthLargestFreeMemory) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384), Gpu("gpu1", 8192), Gpu("gpu2", 4096)});
  PlacementRefusal r = Refuse(s, Req(2, 10240));
  EXPECT_EQ(r.resource, PlacementResource::kMemory);
  EXPECT_EQ(r.available, 8192);
  EXPECT_EQ(r.missing, 2048);
  EXPECT_THAT(r.devices, ElementsAre("gpu1", "gpu2"));
  EXPECT_THAT(r.message, HasSubstr("needs 10240 MiB on each of 2 unused devices"));
}

TEST(PlacementTest, TooFewDevicesAtAllIsADeviceCountRefusal) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384), Gpu("gpu1", 16384)});
  PlacementRefusal r = Refuse(s, Req(4, 1024));
  EXPECT_EQ(r.resource, PlacementResource::kDeviceCount);
  EXPECT_EQ(r.needed, 4);
  EXPECT_EQ(r.available, 2);
  EXPECT_EQ(r.missing, 2);
  EXPECT_EQ(r.message,
            "not enough devices: the copy needs 4 accelerator devices but the node has 2 (gpu0, "
            "gpu1)");
}

TEST(PlacementTest, AcceleratorCopyOnANodeWithoutAccelerators) {
  NodeSnapshot s = Node({Host(65536)});
  PlacementRefusal r = Refuse(s, Req(0.5, 1024));
  EXPECT_EQ(r.resource, PlacementResource::kDeviceCount);
  EXPECT_THAT(r.devices, IsEmpty());
  EXPECT_THAT(r.message, HasSubstr("needs 1 accelerator device but the node has none"));
}

// --- CPU and the host ----------------------------------------------------------------------------

TEST(PlacementTest, CpuIsNeverOverCommitted) {
  NodeSnapshot s = Node({Gpu("gpu0", 65536)}, /*cpu_cores=*/4);
  PlaceAndApply(&s, Req(0.1, 1024, 1.5), kBinpack);
  PlaceAndApply(&s, Req(0.1, 1024, 1.5), kBinpack);
  PlacementRefusal r = Refuse(s, Req(0.1, 1024, 1.5));
  EXPECT_EQ(r.resource, PlacementResource::kCpu);
  EXPECT_EQ(r.needed, 1500);
  EXPECT_EQ(r.available, 1000);
  EXPECT_EQ(r.missing, 500);
  EXPECT_THAT(r.devices, IsEmpty());
  EXPECT_EQ(r.message,
            "not enough CPU: the copy needs 1.5 cores; 1 of the node's 4 are free, short by 0.5 "
            "cores");
  // Exactly the remaining core still fits.
  PlaceAndApply(&s, Req(0.1, 1024, 1), kBinpack);
  EXPECT_EQ(s.cpu_free_milli(), 0);
}

TEST(PlacementTest, CpuOnlyCopyReservesHostMemory) {
  NodeSnapshot s = Node({Gpu("gpu0", 65536), Host(8192)});
  Assignment a = PlaceAndApply(&s, Req(0, 6144, 2), kBinpack);
  EXPECT_THAT(a.devices, ElementsAre(DeviceReservation{"cpu", 6144, 0}));
  EXPECT_EQ(s.Find("gpu0")->memory_used_mib, 0);
  PlacementRefusal r = Refuse(s, Req(0, 4096, 2));
  EXPECT_EQ(r.resource, PlacementResource::kMemory);
  EXPECT_EQ(r.missing, 2048);
  EXPECT_THAT(r.devices, ElementsAre("cpu"));
  EXPECT_THAT(r.message, HasSubstr("not enough host memory"));
}

TEST(PlacementTest, CpuOnlyCopyWithoutAHostDeviceReservesCoresOnly) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384)}, /*cpu_cores=*/2);
  Assignment a = PlaceAndApply(&s, Req(0, 6144, 2), kSpread);
  EXPECT_THAT(a.devices, IsEmpty());
  EXPECT_EQ(a.cpu_milli, 2000);
  EXPECT_EQ(Refuse(s, Req(0, 1, 0.5)).resource, PlacementResource::kCpu);
}

TEST(PlacementTest, AcceleratorCopiesNeverLandOnTheHost) {
  NodeSnapshot s = Node({Host(1 << 20), Gpu("gpu0", 1024)});
  EXPECT_EQ(Refuse(s, Req(0.5, 2048)).resource, PlacementResource::kMemory);
}

TEST(PlacementTest, DeviceShortageIsReportedBeforeCpuShortage) {
  NodeSnapshot s = Node({Gpu("gpu0", 1024)}, /*cpu_cores=*/1);
  EXPECT_EQ(Refuse(s, Req(0.5, 2048, 4)).resource, PlacementResource::kMemory);
}

// --- bad input -----------------------------------------------------------------------------------

TEST(PlacementTest, InvalidRequirementsNameTheField) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384)});
  PlacementRefusal refusal;
  refusal.message = "untouched";
  StatusOr<Assignment> a = PlaceCopy(s, Req(1.5, 1024), kBinpack, &refusal);
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a.status().field(), "compute.accelerators");
  EXPECT_EQ(refusal.message, "untouched");
}

TEST(PlacementTest, DuplicateDeviceIdsInTheSnapshotAreRefused) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384), Gpu("gpu0", 16384)});
  StatusOr<Assignment> a = PlaceCopy(s, Req(0.5, 1024), kBinpack);
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a.status().field(), "snapshot.devices[1].id");
}

// --- apply and release ---------------------------------------------------------------------------

TEST(PlacementTest, ApplyThenReleaseRestoresTheSnapshot) {
  const NodeSnapshot empty = Node({Gpu("gpu0", 16384), Gpu("gpu1", 16384), Host(4096)}, 8);
  NodeSnapshot s = empty;
  Assignment a = PlaceAndApply(&s, Req(2, 4096, 2), kBinpack);
  Assignment b = PlaceAndApply(&s, Req(0, 1024, 1.25), kBinpack);
  EXPECT_EQ(s.Find("gpu0")->share_used_milli, 1000);
  EXPECT_EQ(s.Find("cpu")->memory_used_mib, 1024);
  EXPECT_EQ(s.cpu_used_milli, 3250);
  ASSERT_TRUE(ReleaseAssignment(a, &s).ok());
  ASSERT_TRUE(ReleaseAssignment(b, &s).ok());
  for (size_t i = 0; i < s.devices.size(); ++i) {
    EXPECT_EQ(s.devices[i].memory_used_mib, 0);
    EXPECT_EQ(s.devices[i].share_used_milli, 0);
  }
  EXPECT_EQ(s.cpu_used_milli, 0);
}

TEST(PlacementTest, ApplyingAStaleAssignmentFailsAndChangesNothing) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384), Gpu("gpu1", 16384)});
  StatusOr<Assignment> a = PlaceCopy(s, Req(2, 8192), kBinpack);
  ASSERT_TRUE(a.ok());
  PlaceAndApply(&s, Req(0.5, 1024), kSpread);  // takes share on gpu0
  const NodeSnapshot before = s;
  Status st = ApplyAssignment(*a, &s);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("over-commit accelerator share on gpu0"));
  EXPECT_EQ(s.devices[1].share_used_milli, before.devices[1].share_used_milli);
  EXPECT_EQ(s.devices[1].memory_used_mib, before.devices[1].memory_used_mib);
  EXPECT_EQ(s.cpu_used_milli, before.cpu_used_milli);
}

TEST(PlacementTest, ReleasingTwiceFailsAndUnknownDevicesAreNotFound) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384)});
  Assignment a = PlaceAndApply(&s, Req(0.5, 1024), kBinpack);
  ASSERT_TRUE(ReleaseAssignment(a, &s).ok());
  EXPECT_EQ(ReleaseAssignment(a, &s).code(), StatusCode::kFailedPrecondition);
  Assignment ghost{{{"gpu9", 1, 1}}, 0};
  EXPECT_EQ(ApplyAssignment(ghost, &s).code(), StatusCode::kNotFound);
  EXPECT_EQ(ReleaseAssignment(ghost, &s).code(), StatusCode::kNotFound);
}

TEST(PlacementTest, ApplyRefusesCpuOverCommit) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384)}, /*cpu_cores=*/1);
  Assignment a{{{"gpu0", 1, 100}}, 1500};
  EXPECT_EQ(ApplyAssignment(a, &s).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.devices[0].share_used_milli, 0);
}

TEST(PlacementTest, SnapshotFromInventoryStartsEmpty) {
  DeviceInventory inv;
  inv.devices.push_back({"vgpu0", "vgpu0", DeviceKind::kVirtual, 16384, "nvlink-a"});
  inv.devices.push_back({"cpu", "host", DeviceKind::kCpu, 65536, ""});
  inv.cpu_cores = 15.5;
  NodeSnapshot s = SnapshotFromInventory(inv);
  ASSERT_EQ(s.devices.size(), 2u);
  EXPECT_EQ(s.devices[0].id, "vgpu0");
  EXPECT_EQ(s.devices[0].link_group, "nvlink-a");
  EXPECT_EQ(s.devices[0].memory_free_mib(), 16384);
  EXPECT_EQ(s.devices[0].share_free_milli(), 1000);
  EXPECT_EQ(s.devices[1].kind, DeviceKind::kCpu);
  EXPECT_EQ(s.devices[1].share_free_milli(), 0);
  EXPECT_EQ(s.cpu_milli, 15500);
  EXPECT_EQ(s.cpu_used_milli, 0);
}

TEST(PlacementTest, ResourceNames) {
  EXPECT_STREQ(PlacementResourceName(PlacementResource::kMemory), "memory");
  EXPECT_STREQ(PlacementResourceName(PlacementResource::kAcceleratorShare), "accelerator_share");
  EXPECT_STREQ(PlacementResourceName(PlacementResource::kCpu), "cpu");
  EXPECT_STREQ(PlacementResourceName(PlacementResource::kDeviceCount), "device_count");
}

}  // namespace
}  // namespace cohost::policy
