// Randomized check of placement over thousands of small random nodes and request sequences:
//   - no device and no node is ever over-committed, and the snapshot always equals the sum of the
//     live assignments (kept independently here);
//   - a copy is refused only when a brute-force search over every subset of devices proves it does
//     not fit, and placed whenever one does;
//   - what is placed is well formed, follows the strategy, and keeps to one link group when one
//     can hold the copy;
//   - every refusal is ResourceExhausted with a consistent shortfall.
// The base seed is printed; each case's seed is in the failure message, so any failure replays.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <iostream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "policy/placement.h"

namespace cohost::policy {
namespace {

constexpr uint32_t kBaseSeed = 20240611;
constexpr int kCases = 3000;
constexpr int kStepsPerCase = 40;

int64_t Pick(std::mt19937& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

NodeSnapshot RandomNode(std::mt19937& rng) {
  NodeSnapshot s;
  const int n = static_cast<int>(Pick(rng, 0, 6));
  const char* groups[] = {"", "", "a", "b"};
  for (int i = 0; i < n; ++i) {
    DeviceLoad d;
    d.id = "gpu" + std::to_string(i);
    d.kind = Pick(rng, 0, 1) ? DeviceKind::kCuda : DeviceKind::kVirtual;
    d.memory_mib = 1024 * Pick(rng, 1, 16);
    d.link_group = groups[Pick(rng, 0, 3)];
    s.devices.push_back(d);
  }
  if (Pick(rng, 0, 1)) {
    DeviceLoad host;
    host.id = "cpu";
    host.kind = DeviceKind::kCpu;
    host.memory_mib = 1024 * Pick(rng, 1, 32);
    // The host sits anywhere in the list; placement must not care.
    s.devices.insert(s.devices.begin() + Pick(rng, 0, n), host);
  }
  s.cpu_milli = 250 * Pick(rng, 0, 64);
  return s;
}

Requirements RandomRequirements(std::mt19937& rng) {
  static const double kShares[] = {0.001, 0.1, 0.25, 1.0 / 3, 0.5, 0.75, 0.999, 1};
  Requirements r;
  switch (Pick(rng, 0, 5)) {
    case 0:
      r.accelerators = 0;
      break;
    case 1:
      r.accelerators = static_cast<double>(Pick(rng, 2, 5));
      break;
    case 2:
      r.accelerators = static_cast<double>(Pick(rng, 1, 999)) / 1000;
      break;
    default:
      r.accelerators = kShares[Pick(rng, 0, 7)];
  }
  r.memory_mib = Pick(rng, 0, 3) == 0 ? Pick(rng, 0, 16384) : 512 * Pick(rng, 0, 24);
  r.cpu_cores = 0.25 * static_cast<double>(Pick(rng, 0, 12));
  return r;
}

// Does the copy fit, by trying every subset of devices? Independent of placement's own logic: it
// knows only the raw capacities and the meaning of the requirements.
bool FitsByBruteForce(const NodeSnapshot& s, const Requirements& r) {
  if (s.cpu_used_milli + r.cpu_milli() > s.cpu_milli) return false;
  const int64_t acc = r.accelerator_milli();
  const bool host = acc == 0;
  const int64_t share = acc >= 1000 ? 1000 : acc;
  const int want = host ? 1 : static_cast<int>(acc <= 1000 ? 1 : acc / 1000);
  bool has_host = false;
  for (const DeviceLoad& d : s.devices) has_host = has_host || d.kind == DeviceKind::kCpu;
  if (host && !has_host) return true;  // CPU cores were all it needed
  const size_t n = s.devices.size();
  for (uint32_t mask = 0; mask < (1u << n); ++mask) {
    if (std::popcount(mask) != want) continue;
    bool ok = true;
    for (size_t i = 0; i < n && ok; ++i) {
      if (!(mask & (1u << i))) continue;
      const DeviceLoad& d = s.devices[i];
      ok = ((d.kind == DeviceKind::kCpu) == host) &&
           d.memory_used_mib + r.memory_mib <= d.memory_mib &&
           d.share_used_milli + share <= (host ? 0 : 1000);
    }
    if (ok) return true;
  }
  return false;
}

// Recomputes what the snapshot should hold from the live assignments and checks capacities.
void CheckLedger(const NodeSnapshot& empty, const NodeSnapshot& s,
                 const std::map<int, Assignment>& live) {
  std::map<std::string, std::pair<int64_t, int64_t>> used;
  int64_t cpu = 0;
  for (const auto& [id, a] : live) {
    cpu += a.cpu_milli;
    for (const DeviceReservation& r : a.devices) {
      used[r.device_id].first += r.memory_mib;
      used[r.device_id].second += r.share_milli;
    }
  }
  ASSERT_EQ(s.cpu_used_milli, cpu);
  ASSERT_LE(s.cpu_used_milli, s.cpu_milli) << "CPU over-committed";
  ASSERT_EQ(s.devices.size(), empty.devices.size());
  for (const DeviceLoad& d : s.devices) {
    ASSERT_EQ(d.memory_used_mib, used[d.id].first) << d.id;
    ASSERT_EQ(d.share_used_milli, used[d.id].second) << d.id;
    ASSERT_LE(d.memory_used_mib, d.memory_mib) << d.id << " memory over-committed";
    ASSERT_LE(d.share_used_milli, d.kind == DeviceKind::kCpu ? 0 : 1000)
        << d.id << " accelerator share over-committed";
  }
}

// The assignment is well formed for `r` and follows `strategy` and the link-group rule.
void CheckAssignment(const NodeSnapshot& s, const Requirements& r, PlacementStrategy strategy,
                     const Assignment& a) {
  ASSERT_EQ(a.cpu_milli, r.cpu_milli());
  std::set<std::string> ids;
  for (const DeviceReservation& res : a.devices) {
    ASSERT_TRUE(ids.insert(res.device_id).second) << "device used twice: " << res.device_id;
    const DeviceLoad* d = s.Find(res.device_id);
    ASSERT_NE(d, nullptr);
    ASSERT_EQ(d->kind == DeviceKind::kCpu, r.cpu_only());
    ASSERT_EQ(res.memory_mib, r.memory_mib);
    ASSERT_EQ(res.share_milli, r.share_milli_per_device());
  }
  if (!r.cpu_only()) {
    ASSERT_EQ(static_cast<int>(a.devices.size()), r.device_count());
  }

  // Fitting devices of the right kind, and how each would rank.
  std::vector<const DeviceLoad*> fitting;
  for (const DeviceLoad& d : s.devices) {
    if ((d.kind == DeviceKind::kCpu) == r.cpu_only() &&
        d.share_free_milli() >= r.share_milli_per_device() && d.memory_free_mib() >= r.memory_mib) {
      fitting.push_back(&d);
    }
  }
  auto key = [](const DeviceLoad* d) {
    return std::make_pair(d->share_free_milli(), d->memory_free_mib());
  };
  if (a.devices.size() == 1) {
    const auto chosen = key(s.Find(a.devices[0].device_id));
    for (const DeviceLoad* d : fitting) {
      if (strategy == PlacementStrategy::kBinpack) {
        ASSERT_LE(chosen, key(d)) << "binpack did not pick the fullest device";
      } else {
        ASSERT_GE(chosen, key(d)) << "spread did not pick the emptiest device";
      }
    }
  }
  if (a.devices.size() > 1) {
    std::map<std::string, size_t> per_group;
    for (const DeviceLoad* d : fitting) {
      if (!d->link_group.empty()) ++per_group[d->link_group];
    }
    bool group_can_hold = false;
    for (const auto& [g, count] : per_group) group_can_hold |= count >= a.devices.size();
    if (group_can_hold) {
      std::set<std::string> groups;
      for (const DeviceReservation& res : a.devices)
        groups.insert(s.Find(res.device_id)->link_group);
      ASSERT_EQ(groups.size(), 1u) << "a link group could hold the copy but it spans groups";
      ASSERT_FALSE(groups.begin()->empty());
    }
  }
}

void RunCase(uint32_t seed, int* placed, int* refused) {
  std::mt19937 rng(seed);
  const NodeSnapshot empty = RandomNode(rng);
  NodeSnapshot s = empty;
  std::map<int, Assignment> live;
  int next_id = 0;
  for (int step = 0; step < kStepsPerCase; ++step) {
    if (!live.empty() && Pick(rng, 0, 2) == 0) {
      auto it = live.begin();
      std::advance(it, Pick(rng, 0, static_cast<int64_t>(live.size()) - 1));
      ASSERT_TRUE(ReleaseAssignment(it->second, &s).ok());
      live.erase(it);
    } else {
      const Requirements r = RandomRequirements(rng);
      const PlacementStrategy strategy =
          Pick(rng, 0, 1) ? PlacementStrategy::kBinpack : PlacementStrategy::kSpread;
      ASSERT_TRUE(r.Validate().ok()) << r.Validate().ToString();
      PlacementRefusal refusal;
      StatusOr<Assignment> a = PlaceCopy(s, r, strategy, &refusal);
      const bool fits = FitsByBruteForce(s, r);
      ASSERT_EQ(a.ok(), fits) << "step " << step << " accelerators=" << r.accelerators
                              << " memory=" << r.memory_mib << " cpu=" << r.cpu_cores << ": "
                              << a.status().ToString();
      if (a.ok()) {
        ASSERT_NO_FATAL_FAILURE(CheckAssignment(s, r, strategy, *a));
        ASSERT_TRUE(ApplyAssignment(*a, &s).ok());
        live[next_id++] = *a;
        ++*placed;
      } else {
        ASSERT_EQ(a.status().code(), StatusCode::kResourceExhausted);
        ASSERT_EQ(refusal.message, a.status().message());
        ASSERT_GT(refusal.missing, 0);
        ASSERT_EQ(refusal.missing, refusal.needed - refusal.available);
        ++*refused;
      }
    }
    ASSERT_NO_FATAL_FAILURE(CheckLedger(empty, s, live));
  }
  for (const auto& [id, a] : live) ASSERT_TRUE(ReleaseAssignment(a, &s).ok());
  live.clear();
  ASSERT_NO_FATAL_FAILURE(CheckLedger(empty, s, live));
}

TEST(PlacementPropertyTest, NeverOverCommitsAndRefusesOnlyWhatCannotFit) {
  std::cout << "placement property test: base seed " << kBaseSeed << ", " << kCases << " cases\n";
  int placed = 0, refused = 0;
  for (int c = 0; c < kCases; ++c) {
    const uint32_t seed = kBaseSeed + static_cast<uint32_t>(c);
    SCOPED_TRACE("seed " + std::to_string(seed));
    ASSERT_NO_FATAL_FAILURE(RunCase(seed, &placed, &refused));
  }
  std::cout << "placement property test: " << placed << " copies placed, " << refused
            << " refused\n";
  // The generator must exercise both outcomes, or the test proves little.
  EXPECT_GT(placed, kCases);
  EXPECT_GT(refused, kCases);
}

}  // namespace
}  // namespace cohost::policy
