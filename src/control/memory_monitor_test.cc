#include "control/memory_monitor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/metric_names.h"

namespace cohost::control {
namespace {

using ::testing::HasSubstr;
constexpr int64_t kMiB = int64_t{1} << 20;

// Says what the test sets: one figure per pid for every device (labelled: a stand-in for NVML
// and /proc alike).
class SetReader : public agent::ProcessMemoryReader {
 public:
  std::map<pid_t, int64_t> used;
  std::optional<int64_t> ProcessUsedBytes(pid_t pid, const Device&) const override {
    auto it = used.find(pid);
    return it == used.end() ? std::nullopt : std::optional<int64_t>(it->second);
  }
  std::optional<int64_t> DeviceUsedBytes(const Device& d) const override {
    return d.kind == DeviceKind::kCuda ? std::optional<int64_t>(9990 * kMiB) : std::nullopt;
  }
};

struct Event {
  std::string copy, reason, message;
};

class MemoryMonitorTest : public ::testing::Test {
 protected:
  MemoryMonitorTest() {
    inventory_.devices = {{"vgpu0", "vgpu0", DeviceKind::kVirtual, 4096, ""},
                          {"gpu0", "H200", DeviceKind::kCuda, 143771, ""}};
    inventory_.devices[0].process_overhead_mib = 40;
    inventory_.devices[1].process_overhead_mib = 489;
    inventory_.devices[1].cuda_index = 0;
    metric::DeclareAll(metrics_);
    MemoryMonitorOptions o;
    o.reader = &reader_;
    o.metrics = &metrics_;
    o.record = [this](const std::string& copy, const std::string& reason,
                      const std::string& message) {
      events_.push_back({copy, reason, message});
    };
    o.overheads["vgpu0"] = {40, "measured",
                            "probe runner used 72 MiB (proc_vmrss), its buffers 32 MiB"};
    monitor_ = std::make_unique<MemoryMonitor>(inventory_, o);
    assignment_.devices = {{"vgpu0", 140, 500, 40}};  // 100 MiB need + 40 MiB overhead
  }

  void MeasureWith(std::optional<int64_t> used_mib, std::optional<pid_t> pid = 10) {
    if (used_mib)
      reader_.used[10] = *used_mib * kMiB;
    else
      reader_.used.erase(10);
    monitor_->Measure({{"tiny-1", "tiny", pid, &assignment_}});
  }
  int Count(const std::string& reason) const {
    int n = 0;
    for (const Event& e : events_) n += e.reason == reason ? 1 : 0;
    return n;
  }

  DeviceInventory inventory_;
  MetricsRegistry metrics_;
  SetReader reader_;
  std::vector<Event> events_;
  std::unique_ptr<MemoryMonitor> monitor_;
  policy::Assignment assignment_;
};

TEST_F(MemoryMonitorTest, AnExcursionIsOneEventNotOnePerMeasurement) {
  MeasureWith(120);
  EXPECT_TRUE(events_.empty());
  MeasureWith(150);
  MeasureWith(160);
  MeasureWith(155);
  ASSERT_EQ(Count("MemoryOverReservation"), 1);
  EXPECT_EQ(events_[0].copy, "tiny-1");
  EXPECT_THAT(events_[0].message, HasSubstr("vgpu0: uses 150 MiB of 140 MiB reserved (100 MiB for "
                                            "the model + 40 MiB per-process overhead)"));
  MeasureWith(130);
  EXPECT_EQ(Count("MemoryWithinReservation"), 1);
  MeasureWith(141);  // a second excursion
  EXPECT_EQ(Count("MemoryOverReservation"), 2);
  EXPECT_EQ(metrics_.Value(metric::kCopyMemoryOverReservationTotal, {{"component", "tiny"}}), 2);
}

TEST_F(MemoryMonitorTest, UnknownUseKeepsTheStateAndTheLastReading) {
  MeasureWith(150);
  MeasureWith(std::nullopt);  // the process cannot be read this time
  EXPECT_EQ(Count("MemoryOverReservation"), 1);
  EXPECT_EQ(Count("MemoryWithinReservation"), 0);
  EXPECT_EQ(monitor_->CopyJson("tiny-1", assignment_)["used_mib"], 150);
  MeasureWith(std::nullopt, std::nullopt);  // no process (restarting): holds nothing
  EXPECT_TRUE(monitor_->CopyJson("tiny-1", assignment_)["used_mib"].is_null());
  EXPECT_EQ(Count("MemoryWithinReservation"), 0);
}

TEST_F(MemoryMonitorTest, PublishesUsedAndReservedPerCopyAndDevice) {
  MeasureWith(120);
  monitor_->SetBuffers("tiny-1", "tiny", 90 * kMiB);
  Labels copy = {{"component", "tiny"}, {"copy", "tiny-1"}, {"device", "vgpu0"}};
  EXPECT_EQ(metrics_.Value(metric::kCopyMemoryReservedBytes, copy), 140.0 * kMiB);
  EXPECT_EQ(metrics_.Value(metric::kCopyMemoryUsedBytes, copy), 120.0 * kMiB);
  EXPECT_EQ(
      metrics_.Value(metric::kCopyMemoryBuffersBytes, {{"component", "tiny"}, {"copy", "tiny-1"}}),
      90.0 * kMiB);
  EXPECT_EQ(
      metrics_.Value(metric::kDeviceMemoryUsedBytes, {{"device", "vgpu0"}, {"virtual", "true"}}),
      120.0 * kMiB);
  EXPECT_EQ(metrics_.Value(metric::kDeviceMemoryDriverUsedBytes,
                           {{"device", "gpu0"}, {"virtual", "false"}}),
            9990.0 * kMiB);

  nlohmann::json c = monitor_->CopyJson("tiny-1", assignment_);
  EXPECT_EQ(c["reserved_mib"], 140);
  EXPECT_EQ(c["used_mib"], 120);
  EXPECT_EQ(c["buffers_mib"], 90);
  EXPECT_EQ(c["over_reservation"], false);
  EXPECT_EQ(c["devices"][0]["process_overhead_mib"], 40);

  nlohmann::json d = monitor_->DeviceJson(inventory_.devices[0]);
  EXPECT_EQ(d["process_overhead_mib"], 40);
  EXPECT_EQ(d["process_overhead_source"], "measured");
  EXPECT_EQ(d["used_memory_mib"], 120);
  ASSERT_EQ(d["copies"].size(), 1u);
  EXPECT_EQ(d["copies"][0]["reserved_memory_mib"], 140);
  EXPECT_EQ(d["copies"][0]["used_memory_mib"], 120);
  EXPECT_EQ(monitor_->DeviceJson(inventory_.devices[1])["driver_used_memory_mib"], 9990);
  EXPECT_TRUE(monitor_->DeviceJson(inventory_.devices[1])["used_memory_mib"].is_null());

  monitor_->Measure({});  // the copy is gone: its series go too
  EXPECT_EQ(metrics_.Sum(metric::kCopyMemoryReservedBytes), 0);
  EXPECT_EQ(metrics_.Sum(metric::kCopyMemoryBuffersBytes), 0);
  EXPECT_EQ(
      metrics_.Value(metric::kDeviceMemoryUsedBytes, {{"device", "vgpu0"}, {"virtual", "true"}}),
      0);
}

}  // namespace
}  // namespace cohost::control
