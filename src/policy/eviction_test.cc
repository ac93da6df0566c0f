#include "policy/eviction.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cohost::policy {
namespace {

using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Every candidate has been idle since kT0 unless a test says otherwise; plans are made an hour on.
const EvictionTime kT0 = EvictionTime{} + std::chrono::hours(100);
const EvictionTime kNow = kT0 + std::chrono::hours(1);

// `n` virtual devices of 1000 MiB each.
NodeSnapshot Node(int n = 2) {
  NodeSnapshot s;
  for (int i = 0; i < n; ++i) {
    DeviceLoad d;
    d.id = "v" + std::to_string(i);
    d.kind = DeviceKind::kVirtual;
    d.memory_mib = 1000;
    s.devices.push_back(d);
  }
  s.cpu_milli = 16000;
  return s;
}

// A requester for a copy taking `share` of a device and `memory_mib`.
EvictionRequester Want(int priority, bool cold = false, int64_t memory_mib = 400,
                       double share = 0.5) {
  EvictionRequester r;
  r.component = "want";
  r.priority = priority;
  r.need.accelerators = share;
  r.need.memory_mib = memory_mib;
  r.need.cpu_cores = 1;
  r.cold = cold;
  return r;
}

// Places a copy on `device` in *node and returns it as a candidate: alone in its component,
// min 0, idle since kT0, reclaimable after 10 s.
EvictionCandidate Copy(NodeSnapshot* node, std::string id, std::string component, int priority,
                       std::string device, int64_t memory_mib = 400, int64_t share_milli = 500) {
  EvictionCandidate c;
  c.copy_id = std::move(id);
  c.component = std::move(component);
  c.priority = priority;
  c.component_copies = 1;
  c.idle_since = kT0;
  c.reclaim_after_idle = seconds(10);
  c.assignment.devices = {{std::move(device), memory_mib, share_milli}};
  c.assignment.cpu_milli = 1000;
  EXPECT_TRUE(ApplyAssignment(c.assignment, node).ok());
  return c;
}

std::vector<std::string> Ids(const EvictionPlan& p) {
  std::vector<std::string> ids;
  for (const Eviction& e : p.evict) ids.push_back(e.copy_id);
  return ids;
}

TEST(EvictionTest, NothingToEvictWhenItFits) {
  NodeSnapshot node = Node();
  std::vector<EvictionCandidate> cands = {Copy(&node, "a1", "a", 10, "v0")};
  EvictionPlan p = PlanEviction(node, Want(90), cands, kNow);
  EXPECT_THAT(p.evict, IsEmpty());
  EXPECT_FALSE(p.assignment.devices.empty());
}

TEST(EvictionTest, EvictsTheLowestPriorityIdleCopyOnly) {
  NodeSnapshot node = Node();
  std::vector<EvictionCandidate> cands = {
      Copy(&node, "a1", "a", 30, "v0"), Copy(&node, "b1", "b", 10, "v0"),
      Copy(&node, "c1", "c", 20, "v1"), Copy(&node, "d1", "d", 20, "v1")};
  EvictionPlan p = PlanEviction(node, Want(90), cands, kNow);
  EXPECT_THAT(Ids(p), ElementsAre("b1"));
  EXPECT_EQ(p.evict[0].ground, EvictionGround::kLowerPriority);
  ASSERT_EQ(p.assignment.devices.size(), 1u);
  EXPECT_EQ(p.assignment.devices[0].device_id, "v0");
  EXPECT_THAT(p.evict[0].why,
              HasSubstr("b1 (b, priority 10) for want (priority 90): lower priority"));
  EXPECT_THAT(p.reason, HasSubstr("b1 (b, priority 10)"));
}

TEST(EvictionTest, NeverEvictsHigherPriorityOrBusyCopiesOrThoseOfAWaitingComponent) {
  NodeSnapshot node = Node();
  std::vector<EvictionCandidate> cands = {
      Copy(&node, "a1", "a", 50, "v0"), Copy(&node, "b1", "b", 10, "v0"),
      Copy(&node, "c1", "c", 10, "v1"), Copy(&node, "d1", "d", 70, "v1")};
  cands[1].component_waiting = 1;  // b has a request held, waiting for a copy
  cands[2].in_flight = 1;          // c1 serves a request
  // a1 is of equal priority, but the requester is not cold (it is scaling out).
  EvictionPlan p = PlanEviction(node, Want(50), cands, kNow);
  EXPECT_THAT(p.evict, IsEmpty());
  EXPECT_TRUE(p.assignment.devices.empty());
  EXPECT_THAT(p.reason, HasSubstr("none of lower priority is idle"));
}

TEST(EvictionTest, ALowerPriorityCopyGoesWhileItsComponentServesOnAnotherCopy) {
  NodeSnapshot node = Node(1);
  std::vector<EvictionCandidate> cands = {Copy(&node, "a1", "a", 10, "v0"),
                                          Copy(&node, "a2", "a", 10, "v0")};
  for (auto& c : cands) c.component_copies = 2;
  cands[0].in_flight = 3;
  cands[0].idle_since.reset();
  EvictionPlan p = PlanEviction(node, Want(90), cands, kNow);
  EXPECT_THAT(Ids(p), ElementsAre("a2"));
}

TEST(EvictionTest, NeverBelowMinCopies) {
  NodeSnapshot node = Node();
  std::vector<EvictionCandidate> cands = {
      Copy(&node, "a1", "a", 10, "v0"), Copy(&node, "a2", "a", 10, "v0"),
      Copy(&node, "b1", "b", 20, "v1"), Copy(&node, "b2", "b", 20, "v1")};
  for (auto& c : cands) {
    c.component_copies = 2;
    c.component_min = 2;
  }
  cands[2].component_min = 1;
  cands[3].component_min = 1;
  EvictionPlan p = PlanEviction(node, Want(90), cands, kNow);
  EXPECT_THAT(Ids(p), ElementsAre("b1"));  // a is at its min; b may lose one
  EXPECT_THAT(p.evict[0].why, HasSubstr("b keeps 1 copy (min 1)"));
}

TEST(EvictionTest, EvictsSeveralWhenOneIsNotEnoughAndNoMoreThanNeeded) {
  NodeSnapshot node = Node();
  // A copy needing 800 MiB: one device must be emptied of its two small copies.
  std::vector<EvictionCandidate> cands = {
      Copy(&node, "a1", "a", 10, "v0", 300), Copy(&node, "b1", "b", 20, "v1", 300),
      Copy(&node, "c1", "c", 30, "v0", 300), Copy(&node, "d1", "d", 40, "v1", 300)};
  EvictionPlan p = PlanEviction(node, Want(90, false, 800), cands, kNow);
  // Greedy takes a1, b1 (v0 still has c1's share, v1 d1's), then c1 empties v0's memory;
  // b1 is then put back as the fit does not need it.
  EXPECT_THAT(Ids(p), ElementsAre("a1", "c1"));
  ASSERT_EQ(p.assignment.devices.size(), 1u);
  EXPECT_EQ(p.assignment.devices[0].device_id, "v0");
}

TEST(EvictionTest, DeterministicAmongEqualPriority) {
  NodeSnapshot node = Node();
  std::vector<EvictionCandidate> cands = {
      Copy(&node, "a1", "a", 10, "v0"), Copy(&node, "a2", "a", 10, "v0"),
      Copy(&node, "b1", "b", 10, "v1"), Copy(&node, "b2", "b", 10, "v1")};
  for (auto& c : cands) c.component_copies = 2;
  // Same priority, idle equally long: ties go by copy id.
  EvictionPlan p = PlanEviction(node, Want(90), cands, kNow);
  EXPECT_THAT(Ids(p), ElementsAre("a1"));
}

TEST(EvictionTest, NoneWhenEvenAllCandidatesWouldNotMakeRoom) {
  NodeSnapshot node = Node();
  std::vector<EvictionCandidate> cands = {
      Copy(&node, "a1", "a", 10, "v0", 300), Copy(&node, "b1", "b", 90, "v0", 300),
      Copy(&node, "c1", "c", 90, "v1", 300), Copy(&node, "d1", "d", 90, "v1", 300)};
  // Evicting a1 leaves 700 MiB on v0; the copy needs 800. Nothing else may go.
  EvictionPlan p = PlanEviction(node, Want(50, false, 800), cands, kNow);
  EXPECT_THAT(p.evict, IsEmpty());
  EXPECT_TRUE(p.assignment.devices.empty());
  EXPECT_THAT(p.reason, HasSubstr("would not make room"));
}

// The sequence of issue 13: one device shared by big (4 copies after a burst, min 1), tiny (1)
// and nothing left for lazy, all of priority 50. A cold request for lazy reclaims one of big's
// idle extra copies, not tiny's only one, even though tiny has been idle longer.
TEST(EvictionTest, AColdRequestReclaimsAnIdleExtraCopyOfEqualPriority) {
  NodeSnapshot node = Node(1);
  std::vector<EvictionCandidate> cands;
  for (const char* id : {"big-1", "big-2", "big-3", "big-4"}) {
    cands.push_back(Copy(&node, id, "big", 50, "v0", 150, 200));
    cands.back().component_copies = 4;
    cands.back().component_min = 1;
    cands.back().idle_since = kNow - seconds(30);
  }
  cands[0].idle_since = kNow - seconds(40);  // big-1 idle longest: it goes
  cands.push_back(Copy(&node, "tiny-1", "tiny", 50, "v0", 150, 200));
  cands.back().idle_since = kNow - seconds(300);
  EvictionRequester lazy = Want(50, /*cold=*/true, 150, 0.2);
  lazy.component = "lazy";
  EvictionPlan p = PlanEviction(node, lazy, cands, kNow);
  EXPECT_THAT(Ids(p), ElementsAre("big-1"));
  ASSERT_EQ(p.evict.size(), 1u);
  EXPECT_EQ(p.evict[0].ground, EvictionGround::kIdleReclaim);
  EXPECT_EQ(p.evict[0].component, "big");
  EXPECT_EQ(p.evict[0].why,
            "big-1 (big, priority 50) for lazy (priority 50, cold): equal priority, idle 40 s "
            "(reclaim after 10 s); big keeps 3 copies (min 1)");
  EXPECT_FALSE(p.assignment.devices.empty());
}

// Anti-thrash: a copy of equal priority is reclaimed only once it has been idle for its
// component's reclaim_after_idle_s; the refusal says when that will be.
TEST(EvictionTest, EqualPriorityReclaimWaitsForTheMinimumIdleTime) {
  NodeSnapshot node = Node(1);
  std::vector<EvictionCandidate> cands = {Copy(&node, "a1", "a", 50, "v0", 800, 1000)};
  cands[0].reclaim_after_idle = seconds(10);
  cands[0].idle_since = kNow - seconds(6);
  EvictionPlan early = PlanEviction(node, Want(50, /*cold=*/true), cands, kNow);
  EXPECT_THAT(early.evict, IsEmpty());
  EXPECT_THAT(early.reason, HasSubstr("may be reclaimed in 4 s"));
  EvictionPlan due = PlanEviction(node, Want(50, /*cold=*/true), cands, kNow + seconds(4));
  EXPECT_THAT(Ids(due), ElementsAre("a1"));
}

TEST(EvictionTest, EqualPriorityNeverForAWarmRequesterABusyOrALoadingCopy) {
  NodeSnapshot node = Node(1);
  std::vector<EvictionCandidate> cands = {Copy(&node, "a1", "a", 50, "v0", 800, 1000)};
  // A scale-out (the requester has copies) does not reclaim from an equal.
  EvictionPlan warm = PlanEviction(node, Want(50, /*cold=*/false), cands, kNow);
  EXPECT_THAT(warm.evict, IsEmpty());
  EXPECT_THAT(warm.reason,
              HasSubstr("reclaimed only for a component with requests held and no copy"));
  // A copy serving a request is never taken, however long it was idle before.
  cands[0].in_flight = 1;
  EXPECT_THAT(PlanEviction(node, Want(50, true), cands, kNow).evict, IsEmpty());
  // A copy still loading has no idle time (it was started for a reason).
  cands[0].in_flight = 0;
  cands[0].idle_since.reset();
  EXPECT_THAT(PlanEviction(node, Want(50, true), cands, kNow).evict, IsEmpty());
  // Its component waits for copies itself.
  cands[0].idle_since = kT0;
  cands[0].component_waiting = 2;
  EXPECT_THAT(PlanEviction(node, Want(50, true), cands, kNow).evict, IsEmpty());
}

TEST(EvictionTest, LowerPriorityFirstThenEqual) {
  NodeSnapshot node = Node(2);
  std::vector<EvictionCandidate> cands = {Copy(&node, "eq", "e", 50, "v0", 800, 1000),
                                          Copy(&node, "lo", "l", 40, "v1", 800, 1000)};
  cands[0].idle_since = kT0 - std::chrono::hours(1);  // idle longer, but of equal priority
  EvictionPlan p = PlanEviction(node, Want(50, /*cold=*/true), cands, kNow);
  EXPECT_THAT(Ids(p), ElementsAre("lo"));
  // With the lower-priority copy busy, the idle equal one is reclaimed.
  cands[1].in_flight = 1;
  p = PlanEviction(node, Want(50, /*cold=*/true), cands, kNow);
  EXPECT_THAT(Ids(p), ElementsAre("eq"));
}

TEST(EvictionTest, ReclaimNeverTakesACopyAtItsComponentsMin) {
  NodeSnapshot node = Node(1);
  std::vector<EvictionCandidate> cands = {Copy(&node, "a1", "a", 50, "v0", 400, 500),
                                          Copy(&node, "a2", "a", 50, "v0", 400, 500)};
  for (auto& c : cands) {
    c.component_copies = 2;
    c.component_min = 2;
  }
  EXPECT_THAT(PlanEviction(node, Want(50, true), cands, kNow).evict, IsEmpty());
}

TEST(EvictionTest, IgnoresCopiesOfTheRequestersOwnComponent) {
  NodeSnapshot node = Node(1);
  std::vector<EvictionCandidate> cands = {Copy(&node, "w1", "want", 10, "v0", 800, 1000)};
  EXPECT_THAT(PlanEviction(node, Want(90), cands, kNow).evict, IsEmpty());
}

}  // namespace
}  // namespace cohost::policy
