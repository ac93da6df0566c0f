// Placement with endpoint tenancy: dedicated endpoints own whole devices (policy/tenancy.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/eviction.h"
#include "policy/placement.h"
#include "policy/reconcile.h"

namespace cohost::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr PlacementStrategy kBinpack = PlacementStrategy::kBinpack;
constexpr PlacementStrategy kSpread = PlacementStrategy::kSpread;

const Tenancy kBig{"big", true};      // a dedicated endpoint
const Tenancy kOther{"other", true};  // another dedicated endpoint
const Tenancy kMain{"main", false};   // a shared endpoint
const Tenancy kSide{"side", false};   // another shared endpoint

DeviceLoad Gpu(std::string id, int64_t memory_mib) {
  DeviceLoad d;
  d.id = std::move(id);
  d.kind = DeviceKind::kVirtual;
  d.memory_mib = memory_mib;
  return d;
}

DeviceLoad Host(int64_t memory_mib) {
  DeviceLoad d;
  d.id = "cpu";
  d.kind = DeviceKind::kCpu;
  d.memory_mib = memory_mib;
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
  r.cpu_cores = 1;
  return r;
}

Assignment Place(NodeSnapshot* s, const Requirements& r, const Tenancy& t,
                 PlacementStrategy strategy = kBinpack) {
  StatusOr<Assignment> a = PlaceCopy(*s, r, t, strategy);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  if (!a.ok()) return {};
  EXPECT_EQ(a->tenancy, t);
  Status applied = ApplyAssignment(*a, s);
  EXPECT_TRUE(applied.ok()) << applied.ToString();
  return *a;
}

PlacementRefusal Refuse(const NodeSnapshot& s, const Requirements& r, const Tenancy& t,
                        PlacementStrategy strategy = kBinpack) {
  PlacementRefusal refusal;
  StatusOr<Assignment> a = PlaceCopy(s, r, t, strategy, &refusal);
  EXPECT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(a.status().message(), refusal.message);
  EXPECT_EQ(refusal.missing, refusal.needed - refusal.available);
  EXPECT_GT(refusal.missing, 0);
  return refusal;
}

TEST(PlacementTenancyTest, DedicatedCopyTakesADeviceOfItsOwnAndOwnsIt) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384), Gpu("gpu1", 16384)});
  Place(&s, Req(0.25, 1024), kMain);  // binpack: gpu0
  Assignment big = Place(&s, Req(0.5, 4096), kBig);
  EXPECT_THAT(big.device_ids(), ElementsAre("gpu1"));
  EXPECT_EQ(s.Find("gpu1")->tenants.owner, "big");
  EXPECT_STREQ(s.Find("gpu1")->tenants.Kind(), "dedicated");
  EXPECT_STREQ(s.Find("gpu0")->tenants.Kind(), "shared");
  EXPECT_EQ(s.Find("gpu0")->tenants.owner, "");
}

TEST(PlacementTenancyTest, SharedCopyIsRefusedADedicatedDeviceWithTheReason) {
  NodeSnapshot s = Node({Gpu("gpu0", 4096), Gpu("gpu1", 16384)});
  Place(&s, Req(0.5, 2048), kBig);  // binpack ties: gpu0
  // gpu1 has room for an 8 GiB copy; gpu0 does not, and only gpu0 is big's.
  ASSERT_THAT(Place(&s, Req(0.25, 1024), kBig).device_ids(), ElementsAre("gpu0"));
  NodeSnapshot s2 = Node({Gpu("gpu0", 4096), Gpu("gpu1", 16384)});
  Place(&s2, Req(0.5, 8192), kBig);  // only gpu1 fits
  PlacementRefusal r = Refuse(s2, Req(0.25, 6144), kMain);
  EXPECT_EQ(r.resource, PlacementResource::kTenancy);
  EXPECT_STREQ(PlacementResourceName(r.resource), "tenancy");
  EXPECT_THAT(r.devices, ElementsAre("gpu1"));
  EXPECT_EQ(r.needed, 1);
  EXPECT_EQ(r.available, 0);
  EXPECT_THAT(r.message, HasSubstr("device gpu1 is dedicated to endpoint \"big\""));
  EXPECT_THAT(r.message, HasSubstr("shared endpoint \"main\""));
  // A small shared copy still fits beside it, on the shared device.
  EXPECT_THAT(Place(&s2, Req(0.25, 1024), kMain).device_ids(), ElementsAre("gpu0"));
}

TEST(PlacementTenancyTest, DedicatedCopyIsRefusedADeviceHoldingSharedCopies) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384)});
  Place(&s, Req(0.25, 1024), kMain);
  PlacementRefusal r = Refuse(s, Req(0.25, 1024), kBig);
  EXPECT_EQ(r.resource, PlacementResource::kTenancy);
  EXPECT_THAT(r.devices, ElementsAre("gpu0"));
  EXPECT_THAT(r.message, HasSubstr("device gpu0 holds copies of shared endpoint \"main\"; "
                                   "endpoint \"big\" is dedicated"));
  EXPECT_THAT(r.message, HasSubstr("0 of the node's 1 are open to it"));
}

TEST(PlacementTenancyTest, TwoDedicatedEndpointsNeverShareADevice) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384), Gpu("gpu1", 16384)});
  EXPECT_THAT(Place(&s, Req(0.25, 1024), kBig).device_ids(), ElementsAre("gpu0"));
  EXPECT_THAT(Place(&s, Req(0.25, 1024), kOther).device_ids(), ElementsAre("gpu1"));
  PlacementRefusal r = Refuse(s, Req(0.25, 1024), Tenancy{"third", true});
  EXPECT_THAT(r.message, HasSubstr("device gpu0 is dedicated to endpoint \"big\""));
  EXPECT_THAT(r.message, HasSubstr("device gpu1 is dedicated to endpoint \"other\""));
}

TEST(PlacementTenancyTest, CopiesOfOneDedicatedEndpointShareItsDevicesBeforeClaimingMore) {
  // Spread alone would take the empty gpu1; a dedicated copy fills its own device first.
  NodeSnapshot s = Node({Gpu("gpu0", 16384), Gpu("gpu1", 16384)});
  Place(&s, Req(0.5, 1024), kBig, kSpread);
  EXPECT_THAT(Place(&s, Req(0.5, 1024), kBig, kSpread).device_ids(), ElementsAre("gpu0"));
  EXPECT_EQ(s.Find("gpu0")->tenants.copies.at("big"), 2);
  // Its device is full: the next copy claims another free one.
  EXPECT_THAT(Place(&s, Req(0.5, 1024), kBig, kSpread).device_ids(), ElementsAre("gpu1"));
  EXPECT_EQ(s.Find("gpu1")->tenants.owner, "big");
}

TEST(PlacementTenancyTest, OwnershipOutlivesTheCopiesInTheSnapshot) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384)});
  Assignment big = Place(&s, Req(0.5, 1024), kBig);
  ASSERT_TRUE(ReleaseAssignment(big, &s).ok());
  // Scaled to zero: nothing reserved, no copy, but the device is still big's.
  EXPECT_EQ(s.Find("gpu0")->memory_used_mib, 0);
  EXPECT_THAT(s.Find("gpu0")->tenants.copies, IsEmpty());
  EXPECT_EQ(s.Find("gpu0")->tenants.owner, "big");
  PlacementRefusal r = Refuse(s, Req(0.25, 1024), kMain);
  EXPECT_THAT(r.message, HasSubstr("device gpu0 is dedicated to endpoint \"big\""));
  // Its next copy goes back there.
  EXPECT_THAT(Place(&s, Req(0.5, 1024), kBig).device_ids(), ElementsAre("gpu0"));
}

TEST(PlacementTenancyTest, DroppingTheOwnerFreesTheDeviceForEveryone) {
  // The live node rebuilds each snapshot from the inventory and seeds the owners it keeps (in
  // the store); once the endpoint is deleted, its devices are simply not seeded any more.
  NodeSnapshot s = Node({Gpu("gpu0", 16384)});
  s.Find("gpu0")->tenants.owner = "big";
  Refuse(s, Req(0.25, 1024), kMain);
  s.Find("gpu0")->tenants.owner.clear();
  EXPECT_THAT(Place(&s, Req(0.25, 1024), kMain).device_ids(), ElementsAre("gpu0"));
  EXPECT_THAT(Place(&s, Req(0.25, 1024), kSide).device_ids(), ElementsAre("gpu0"));
}

TEST(PlacementTenancyTest, OtherShortagesNameTheDevicesNotCounted) {
  NodeSnapshot s = Node({Gpu("gpu0", 4096), Gpu("gpu1", 4096)});
  Place(&s, Req(0.25, 1024), kBig);  // gpu0 is big's
  // 8 GiB fits on no device at all: a memory shortage, noting gpu1... and gpu0's owner.
  PlacementRefusal r = Refuse(s, Req(0.25, 8192), kMain);
  EXPECT_EQ(r.resource, PlacementResource::kMemory);
  EXPECT_THAT(r.devices, ElementsAre("gpu1"));
  EXPECT_THAT(r.message, HasSubstr("(not counted: device gpu0 is dedicated to endpoint \"big\")"));
}

TEST(PlacementTenancyTest, MultiDeviceDedicatedCopyNeedsEnoughDevicesOfItsOwn) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384), Gpu("gpu1", 16384), Gpu("gpu2", 16384)});
  Place(&s, Req(0.25, 1024), kMain);  // gpu0 shared
  Assignment big = Place(&s, Req(2, 4096), kBig);
  EXPECT_THAT(big.device_ids(), ElementsAre("gpu1", "gpu2"));
  PlacementRefusal r = Refuse(s, Req(2, 1024), kOther);
  EXPECT_EQ(r.resource, PlacementResource::kTenancy);
  EXPECT_EQ(r.needed, 2);
  EXPECT_THAT(r.devices, ElementsAre("gpu0", "gpu1", "gpu2"));
}

TEST(PlacementTenancyTest, HostDeviceIsSharedByEveryEndpoint) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384), Host(32768)});
  EXPECT_THAT(Place(&s, Req(0, 1024), kBig).device_ids(), ElementsAre("cpu"));
  EXPECT_THAT(Place(&s, Req(0, 1024), kMain).device_ids(), ElementsAre("cpu"));
  EXPECT_EQ(s.Find("cpu")->tenants.owner, "");
  EXPECT_THAT(s.Find("cpu")->tenants.copies, IsEmpty());
  // The accelerator is still free for either kind.
  EXPECT_STREQ(s.Find("gpu0")->tenants.Kind(), "free");
}

TEST(PlacementTenancyTest, ApplyRefusesAStaleAssignmentThatWouldMixEndpoints) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384)});
  StatusOr<Assignment> shared = PlaceCopy(s, Req(0.25, 1024), kMain, kBinpack);
  ASSERT_TRUE(shared.ok());
  Place(&s, Req(0.25, 1024), kBig);  // placed in between
  Status applied = ApplyAssignment(*shared, &s);
  EXPECT_EQ(applied.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(applied.message(), HasSubstr("device gpu0 is dedicated to endpoint \"big\""));
  EXPECT_EQ(s.Find("gpu0")->memory_used_mib, 1024);  // unchanged
}

TEST(PlacementTenancyTest, CopiesWithoutAnEndpointBehaveAsBefore) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384)});
  Assignment a = Place(&s, Req(0.25, 1024), Tenancy{});
  EXPECT_THAT(PlaceCopy(s, Req(0.25, 1024), kBinpack)->device_ids(), ElementsAre("gpu0"));
  // A dedicated endpoint does not take a device holding them.
  EXPECT_THAT(Refuse(s, Req(0.25, 1024), kBig).message, HasSubstr("holds copies of other endpoints"));
  ASSERT_TRUE(ReleaseAssignment(a, &s).ok());
  EXPECT_TRUE(PlaceCopy(s, Req(0.25, 1024), kBig, kBinpack).ok());
}

// --- the callers ---------------------------------------------------------------------------------

ComponentView View(std::string name, std::string endpoint, bool dedicated, double accelerators,
                   int64_t memory_mib, int copies, int priority = 50) {
  ComponentView v;
  v.spec.name = std::move(name);
  v.spec.endpoint = std::move(endpoint);
  v.spec.model_uri = "/m.gguf";
  v.spec.compute = Req(accelerators, memory_mib);
  v.spec.priority = priority;
  v.dedicated = dedicated;
  v.desired_copies = copies;
  v.revision = v.replacement_revision = 1;
  return v;
}

TEST(PlacementTenancyTest, ReconcileKeepsDedicatedAndSharedComponentsApart) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384), Gpu("gpu1", 16384)});
  ReconcilePlan plan = Reconcile({View("llm", "big", true, 0.5, 4096, 1, 90),
                                  View("chat", "main", false, 0.25, 1024, 2, 50),
                                  View("embed", "main", false, 0.25, 1024, 1, 50)},
                                 {}, s);
  ASSERT_THAT(plan.unplaced, IsEmpty());
  ASSERT_EQ(plan.start.size(), 4u);
  EXPECT_THAT(plan.start[0].assignment.device_ids(), ElementsAre("gpu0"));  // llm, first
  for (size_t i = 1; i < plan.start.size(); ++i) {
    EXPECT_THAT(plan.start[i].assignment.device_ids(), ElementsAre("gpu1")) << i;
  }
}

TEST(PlacementTenancyTest, EvictionFreesADeviceOfSharedCopiesForADedicatedOneButNotTheReverse) {
  NodeSnapshot s = Node({Gpu("gpu0", 16384)});
  Assignment shared = Place(&s, Req(0.25, 1024), kMain);
  EvictionCandidate c;
  c.copy_id = "chat-1";
  c.component = "chat";
  c.priority = 10;
  c.component_copies = 1;
  c.assignment = shared;
  EvictionRequester big{"llm", 90, Req(0.5, 4096), kBinpack, kBig, false};
  EvictionPlan plan = PlanEviction(s, big, {c}, {});
  ASSERT_EQ(plan.evict.size(), 1u);
  EXPECT_EQ(plan.evict[0].copy_id, "chat-1");
  EXPECT_THAT(plan.assignment.device_ids(), ElementsAre("gpu0"));

  // The reverse: the device stays big's with its copy gone, so evicting it frees nothing.
  NodeSnapshot owned = Node({Gpu("gpu0", 16384)});
  Assignment llm = Place(&owned, Req(0.5, 4096), kBig);
  EvictionCandidate d = c;
  d.copy_id = "llm-1";
  d.component = "llm";
  d.assignment = llm;
  EvictionRequester chat{"chat", 90, Req(0.25, 1024), kBinpack, kMain, false};
  EXPECT_THAT(PlanEviction(owned, chat, {d}, {}).evict, IsEmpty());
}

}  // namespace
}  // namespace cohost::policy
