#include "policy/eviction.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cohost::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Two virtual devices of 1000 MiB each; every copy takes a 0.5 share and 400 MiB.
NodeSnapshot Node() {
  NodeSnapshot s;
  for (const char* id : {"v0", "v1"}) {
    DeviceLoad d;
    d.id = id;
    d.kind = DeviceKind::kVirtual;
    d.memory_mib = 1000;
    s.devices.push_back(d);
  }
  s.cpu_milli = 16000;
  return s;
}

Requirements Need(int64_t memory_mib = 400) {
  Requirements r;
  r.accelerators = 0.5;
  r.memory_mib = memory_mib;
  r.cpu_cores = 1;
  return r;
}

// Places a copy on `device` in *node and returns it as a candidate.
EvictionCandidate Copy(NodeSnapshot* node, std::string id, std::string component, int priority,
                       std::string device, int64_t memory_mib = 400) {
  EvictionCandidate c;
  c.copy_id = std::move(id);
  c.component = std::move(component);
  c.priority = priority;
  c.component_idle = true;
  c.component_copies = 1;
  c.assignment.devices = {{std::move(device), memory_mib, 500}};
  c.assignment.cpu_milli = 1000;
  EXPECT_TRUE(ApplyAssignment(c.assignment, node).ok());
  return c;
}

TEST(EvictionTest, NothingToEvictWhenItFits) {
  NodeSnapshot node = Node();
  std::vector<EvictionCandidate> cands = {Copy(&node, "a1", "a", 10, "v0")};
  EvictionPlan p = PlanEviction(node, Need(), PlacementStrategy::kBinpack, 90, cands);
  EXPECT_THAT(p.evict, IsEmpty());
  EXPECT_FALSE(p.assignment.devices.empty());
}

TEST(EvictionTest, EvictsTheLowestPriorityIdleCopyOnly) {
  NodeSnapshot node = Node();
  std::vector<EvictionCandidate> cands = {
      Copy(&node, "a1", "a", 30, "v0"), Copy(&node, "b1", "b", 10, "v0"),
      Copy(&node, "c1", "c", 20, "v1"), Copy(&node, "d1", "d", 20, "v1")};
  EvictionPlan p = PlanEviction(node, Need(), PlacementStrategy::kBinpack, 90, cands);
  EXPECT_THAT(p.evict, ElementsAre("b1"));
  ASSERT_EQ(p.assignment.devices.size(), 1u);
  EXPECT_EQ(p.assignment.devices[0].device_id, "v0");
  EXPECT_THAT(p.reason, HasSubstr("b1 (b, priority 10)"));
}

TEST(EvictionTest, NeverEvictsEqualOrHigherPriorityOrBusyComponents) {
  NodeSnapshot node = Node();
  std::vector<EvictionCandidate> cands = {
      Copy(&node, "a1", "a", 50, "v0"), Copy(&node, "b1", "b", 10, "v0"),
      Copy(&node, "c1", "c", 10, "v1"), Copy(&node, "d1", "d", 70, "v1")};
  cands[1].component_idle = false;  // b has a request waiting elsewhere
  cands[2].in_flight = 1;           // c1 serves a request
  EvictionPlan p = PlanEviction(node, Need(), PlacementStrategy::kBinpack, 50, cands);
  EXPECT_THAT(p.evict, IsEmpty());
  EXPECT_TRUE(p.assignment.devices.empty());
  EXPECT_THAT(p.reason, HasSubstr("no idle copy"));
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
  EvictionPlan p = PlanEviction(node, Need(), PlacementStrategy::kBinpack, 90, cands);
  EXPECT_THAT(p.evict, ElementsAre("b1"));  // a is at its min; b may lose one
}

TEST(EvictionTest, EvictsSeveralWhenOneIsNotEnoughAndNoMoreThanNeeded) {
  NodeSnapshot node = Node();
  // A copy needing 800 MiB: one device must be emptied of its two small copies.
  std::vector<EvictionCandidate> cands = {
      Copy(&node, "a1", "a", 10, "v0", 300), Copy(&node, "b1", "b", 20, "v1", 300),
      Copy(&node, "c1", "c", 30, "v0", 300), Copy(&node, "d1", "d", 40, "v1", 300)};
  Requirements need = Need(800);
  EvictionPlan p = PlanEviction(node, need, PlacementStrategy::kBinpack, 90, cands);
  // Greedy takes a1, b1 (v0 still has c1's share, v1 d1's), then c1 empties v0's memory;
  // b1 is then put back as the fit does not need it.
  EXPECT_THAT(p.evict, ElementsAre("a1", "c1"));
  ASSERT_EQ(p.assignment.devices.size(), 1u);
  EXPECT_EQ(p.assignment.devices[0].device_id, "v0");
}

TEST(EvictionTest, DeterministicAmongEqualPriority) {
  NodeSnapshot node = Node();
  std::vector<EvictionCandidate> cands = {
      Copy(&node, "a1", "a", 10, "v0"), Copy(&node, "a2", "a", 10, "v0"),
      Copy(&node, "b1", "b", 10, "v1"), Copy(&node, "b2", "b", 10, "v1")};
  for (auto& c : cands) c.component_copies = 2;
  // Idle copies serve nothing, so ties go by copy id.
  EvictionPlan p = PlanEviction(node, Need(), PlacementStrategy::kBinpack, 90, cands);
  EXPECT_THAT(p.evict, ElementsAre("a1"));
}

TEST(EvictionTest, NoneWhenEvenAllCandidatesWouldNotMakeRoom) {
  NodeSnapshot node = Node();
  std::vector<EvictionCandidate> cands = {
      Copy(&node, "a1", "a", 10, "v0", 300), Copy(&node, "b1", "b", 90, "v0", 300),
      Copy(&node, "c1", "c", 90, "v1", 300), Copy(&node, "d1", "d", 90, "v1", 300)};
  // Evicting a1 leaves 700 MiB on v0; the copy needs 800. Nothing else may go.
  EvictionPlan p = PlanEviction(node, Need(800), PlacementStrategy::kBinpack, 50, cands);
  EXPECT_THAT(p.evict, IsEmpty());
  EXPECT_TRUE(p.assignment.devices.empty());
  EXPECT_THAT(p.reason, HasSubstr("would not make room"));
}

}  // namespace
}  // namespace cohost::policy
