#include "policy/reconcile.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace cohost::policy {
namespace {

NodeSnapshot TwoGpus(int64_t mib = 16000) {
  NodeSnapshot n;
  n.devices.push_back({"gpu0", DeviceKind::kVirtual, "", mib, 0, 0});
  n.devices.push_back({"gpu1", DeviceKind::kVirtual, "", mib, 0, 0});
  n.cpu_milli = 16000;
  return n;
}

ComponentView Component(const std::string& name, int desired, int64_t revision = 1, int priority = 50,
                        double accel = 0.5, int64_t mib = 4000) {
  ComponentView c;
  c.spec.name = name;
  c.spec.endpoint = "main";
  c.spec.model_uri = "/m/" + name + ".gguf";
  c.spec.compute.accelerators = accel;
  c.spec.compute.memory_mib = mib;
  c.spec.copies.max = 8;
  c.spec.priority = priority;
  c.revision = revision;
  c.replacement_revision = revision;
  c.desired_copies = desired;
  return c;
}

CopyView Copy(const std::string& id, const std::string& comp, CopyPhase phase, int in_flight = 0,
              int64_t rev = 1) {
  return CopyView{id, comp, rev, phase, in_flight};
}

std::vector<std::string> Drained(const ReconcilePlan& p) {
  std::vector<std::string> ids;
  for (const auto& d : p.drain) ids.push_back(d.copy_id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST(ReconcileTest, StartsMissingCopies) {
  ReconcilePlan p = Reconcile({Component("chat", 3)}, {}, TwoGpus());
  ASSERT_EQ(p.start.size(), 3u);
  EXPECT_TRUE(p.drain.empty());
  EXPECT_TRUE(p.unplaced.empty());
  // Half-GPU copies: binpack puts two on one device, the third on the other.
  int on_gpu0 = 0;
  for (const auto& s : p.start) on_gpu0 += s.assignment.devices[0].device_id == "gpu0";
  EXPECT_EQ(on_gpu0, 2);
}

TEST(ReconcileTest, StartingCopiesCountTowardsTheDesiredNumber) {
  ReconcilePlan p = Reconcile({Component("chat", 2)}, {Copy("a", "chat", CopyPhase::kStarting)}, TwoGpus());
  EXPECT_EQ(p.start.size(), 1u);
}

TEST(ReconcileTest, ScaleInDrainsTheLeastLoaded) {
  std::vector<CopyView> copies = {Copy("a", "chat", CopyPhase::kReady, 5), Copy("b", "chat", CopyPhase::kReady, 1),
                                  Copy("c", "chat", CopyPhase::kReady, 3)};
  ReconcilePlan p = Reconcile({Component("chat", 1)}, copies, TwoGpus());
  EXPECT_EQ(Drained(p), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(p.drain[0].reason, "scale-in");
  EXPECT_TRUE(p.start.empty());
}

TEST(ReconcileTest, ScaleInDrainsStartingCopiesFirst) {
  std::vector<CopyView> copies = {Copy("a", "chat", CopyPhase::kReady, 0), Copy("b", "chat", CopyPhase::kStarting)};
  ReconcilePlan p = Reconcile({Component("chat", 1)}, copies, TwoGpus());
  EXPECT_EQ(Drained(p), (std::vector<std::string>{"b"}));
}

TEST(ReconcileTest, DeletedComponentsDrainEverything) {
  std::vector<CopyView> copies = {Copy("a", "old", CopyPhase::kReady), Copy("b", "old", CopyPhase::kStarting),
                                  Copy("c", "old", CopyPhase::kDraining)};
  ReconcilePlan p = Reconcile({}, copies, TwoGpus());
  EXPECT_EQ(Drained(p), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.drain[0].reason, "component deleted");
}

TEST(ReconcileTest, ReplacementIsOneByOneAndNeverDropsCapacity) {
  // Two ready copies on revision 1; the spec changed at revision 2.
  std::vector<CopyView> copies = {Copy("old1", "chat", CopyPhase::kReady, 0, 1),
                                  Copy("old2", "chat", CopyPhase::kReady, 2, 1)};
  ComponentView c = Component("chat", 2, /*revision=*/2);
  NodeSnapshot node = TwoGpus();
  // Step 1: one new copy starts; nothing drains yet.
  ReconcilePlan p = Reconcile({c}, copies, node);
  ASSERT_EQ(p.start.size(), 1u);
  EXPECT_EQ(p.start[0].spec_revision, 2);
  EXPECT_TRUE(p.drain.empty());
  // Step 2: while it is starting, nothing else happens.
  copies.push_back(Copy("new1", "chat", CopyPhase::kStarting, 0, 2));
  p = Reconcile({c}, copies, node);
  EXPECT_TRUE(p.start.empty());
  EXPECT_TRUE(p.drain.empty());
  // Step 3: once ready, the least loaded old copy drains and the next new copy starts.
  copies.back().phase = CopyPhase::kReady;
  p = Reconcile({c}, copies, node);
  EXPECT_EQ(Drained(p), (std::vector<std::string>{"old1"}));
  EXPECT_EQ(p.drain[0].reason, "replaced");
  EXPECT_EQ(p.start.size(), 1u);
  // Step 4: both new copies ready: the last old copy drains, nothing starts.
  copies[0].phase = CopyPhase::kDraining;
  copies.push_back(Copy("new2", "chat", CopyPhase::kReady, 0, 2));
  p = Reconcile({c}, copies, node);
  EXPECT_EQ(Drained(p), (std::vector<std::string>{"old2"}));
  EXPECT_TRUE(p.start.empty());
}

TEST(ReconcileTest, RefusalsAreReportedAndHigherPriorityPlacesFirst) {
  // Room for two whole-GPU copies in all; "high" wants 2, "low" wants 2.
  std::vector<ComponentView> comps = {Component("low", 2, 1, 10, 1.0, 8000), Component("high", 2, 1, 90, 1.0, 8000)};
  ReconcilePlan p = Reconcile(comps, {}, TwoGpus());
  ASSERT_EQ(p.start.size(), 2u);
  EXPECT_EQ(p.start[0].component, "high");
  EXPECT_EQ(p.start[1].component, "high");
  ASSERT_EQ(p.unplaced.size(), 1u);
  EXPECT_EQ(p.unplaced[0].component, "low");
  EXPECT_EQ(p.unplaced[0].reason.code(), StatusCode::kResourceExhausted);
}

TEST(ReconcileTest, RoomEvictedForAComponentGoesToItBeforeAnEqualPriorityScaleOut) {
  // One whole-GPU copy fits; "big" (listed first) wants one more, "lazy" had room evicted for it.
  NodeSnapshot node = TwoGpus();
  node.devices[0].share_used_milli = 1000;
  node.devices[0].memory_used_mib = 16000;
  std::vector<ComponentView> comps = {Component("big", 1, 1, 50, 1.0, 8000),
                                      Component("lazy", 1, 1, 50, 1.0, 8000)};
  ReconcilePlan p = Reconcile(comps, {}, node);
  ASSERT_EQ(p.start.size(), 1u);
  EXPECT_EQ(p.start[0].component, "big");  // without an eviction: in the order given
  comps[1].evicted_for = true;
  p = Reconcile(comps, {}, node);
  ASSERT_EQ(p.start.size(), 1u);
  EXPECT_EQ(p.start[0].component, "lazy");
  ASSERT_EQ(p.unplaced.size(), 1u);
  EXPECT_EQ(p.unplaced[0].component, "big");
  // Priority still comes first.
  comps[0].spec.priority = 60;
  p = Reconcile(comps, {}, node);
  ASSERT_EQ(p.start.size(), 1u);
  EXPECT_EQ(p.start[0].component, "big");
}

TEST(ReconcileTest, RepeatedFailuresStopNewStarts) {
  std::vector<CopyView> copies = {Copy("a", "chat", CopyPhase::kFailed), Copy("b", "chat", CopyPhase::kFailed)};
  ReconcilePlan p = Reconcile({Component("chat", 2)}, copies, TwoGpus());
  EXPECT_TRUE(p.start.empty());
  ASSERT_EQ(p.unplaced.size(), 1u);
  EXPECT_EQ(p.unplaced[0].reason.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(p.unplaced[0].copies_failed);
  // A new spec revision tries again.
  p = Reconcile({Component("chat", 2, 2)}, copies, TwoGpus());
  EXPECT_EQ(p.start.size(), 2u);
}

TEST(ReconcileTest, DesiredIsClampedToMax) {
  ComponentView c = Component("chat", 20);
  c.spec.copies.max = 2;
  EXPECT_EQ(Reconcile({c}, {}, TwoGpus()).start.size(), 2u);
}

TEST(ReconcileTest, ReplacementKeyIgnoresScalingFields) {
  ComponentView a = Component("chat", 1), b = a;
  b.spec.priority = 99;
  b.spec.copies.max = 5;
  EXPECT_EQ(ReplacementKey(a.spec), ReplacementKey(b.spec));
  b.spec.model_uri = "/m/other.gguf";
  EXPECT_NE(ReplacementKey(a.spec), ReplacementKey(b.spec));
}

}  // namespace
}  // namespace cohost::policy
