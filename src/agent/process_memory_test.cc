#include "agent/process_memory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "agent/copy_memory.h"

namespace cohost::agent {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

// A /proc/PID/status as Linux 6.1 writes it (abridged).
constexpr char kStatus[] =
    "Name:\tcohost\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t4242\n"
    "VmPeak:\t 1263704 kB\nVmSize:\t 1198168 kB\nVmHWM:\t  210400 kB\n"
    "VmRSS:\t  204800 kB\nRssAnon:\t  150000 kB\nRssFile:\t   54800 kB\nRssShmem:\t       0 kB\n"
    "Threads:\t7\n";

TEST(ProcessMemoryTest, ParsesVmRssInBytes) {
  auto rss = ParseResidentBytes(kStatus);
  ASSERT_TRUE(rss.ok()) << rss.status().ToString();
  EXPECT_EQ(*rss, 200 * kMiB);
  EXPECT_EQ(*ParseResidentBytes("VmRSS:\t       0 kB\n"), 0);
  EXPECT_EQ(*ParseResidentBytes("VmRSS: 12 kB"), 12 * 1024);  // no final newline
}

TEST(ProcessMemoryTest, RefusesStatusWithoutAUsableVmRss) {
  for (const char* text : {"Name:\tkthreadd\nState:\tS\n", "VmRSS:\t abc kB\n", "VmRSS:\t 12 MB\n",
                           "VmRSSx:\t12 kB\n", ""}) {
    auto rss = ParseResidentBytes(text);
    EXPECT_EQ(rss.status().code(), StatusCode::kDataLoss) << text;
  }
}

Device Dev(std::string id, DeviceKind kind, int cuda_index = -1) {
  Device d{id, id, kind, 16384, ""};
  d.cuda_index = cuda_index;
  return d;
}

class FakeProc {
 public:
  FakeProc()
      : root_(std::filesystem::temp_directory_path() /
              ("cohost-proc-" + std::to_string(getpid()))) {}
  ~FakeProc() { std::filesystem::remove_all(root_); }
  void Write(pid_t pid, const std::string& text) {
    std::filesystem::create_directories(root_ / std::to_string(pid));
    std::ofstream(root_ / std::to_string(pid) / "status") << text;
  }
  std::string root() const { return root_.string(); }

 private:
  std::filesystem::path root_;
};

TEST(ProcessMemoryTest, ProcStatusReaderReadsHostComputingDevicesOnly) {
  FakeProc proc;
  proc.Write(4242, kStatus);
  ProcStatusReader reader(proc.root());
  EXPECT_EQ(reader.ProcessUsedBytes(4242, Dev("vgpu0", DeviceKind::kVirtual)), 200 * kMiB);
  EXPECT_EQ(reader.ProcessUsedBytes(4242, Dev("cpu", DeviceKind::kCpu)), 200 * kMiB);
  EXPECT_FALSE(reader.ProcessUsedBytes(4242, Dev("gpu0", DeviceKind::kCuda, 0)).has_value());
  EXPECT_FALSE(
      reader.ProcessUsedBytes(4243, Dev("vgpu0", DeviceKind::kVirtual)).has_value());  // gone
  EXPECT_FALSE(reader.DeviceUsedBytes(Dev("vgpu0", DeviceKind::kVirtual)).has_value());
}

TEST(ProcessMemoryTest, ProcStatusReaderReadsThisProcess) {
  ProcStatusReader reader;
  auto rss = reader.ProcessUsedBytes(getpid(), Dev("vgpu0", DeviceKind::kVirtual));
  ASSERT_TRUE(rss.has_value());
  EXPECT_GT(*rss, 1 * kMiB);
}

// Stands in for NVML on CUDA devices: per-process use by (pid, cuda index), and a device total.
class FakeNvmlReader : public ProcessMemoryReader {
 public:
  std::map<std::pair<pid_t, int>, int64_t> used;
  std::optional<int64_t> ProcessUsedBytes(pid_t pid, const Device& d) const override {
    auto it = used.find({pid, d.cuda_index});
    if (d.kind != DeviceKind::kCuda || it == used.end()) return std::nullopt;
    return it->second;
  }
  std::optional<int64_t> DeviceUsedBytes(const Device& d) const override {
    return d.kind == DeviceKind::kCuda ? std::optional<int64_t>(9990 * kMiB) : std::nullopt;
  }
};

TEST(ProcessMemoryTest, NodeReaderSendsCudaToNvmlAndTheRestToProc) {
  FakeProc proc;
  proc.Write(4242, kStatus);
  auto nvml = std::make_unique<FakeNvmlReader>();
  nvml->used[{4242, 0}] = 652 * kMiB;
  NodeMemoryReader node(std::make_unique<ProcStatusReader>(proc.root()), std::move(nvml));
  EXPECT_EQ(node.ProcessUsedBytes(4242, Dev("gpu0", DeviceKind::kCuda, 0)), 652 * kMiB);
  EXPECT_EQ(node.ProcessUsedBytes(4242, Dev("vgpu0", DeviceKind::kVirtual)), 200 * kMiB);
  EXPECT_EQ(node.DeviceUsedBytes(Dev("gpu0", DeviceKind::kCuda, 0)), 9990 * kMiB);
  EXPECT_FALSE(node.DeviceUsedBytes(Dev("vgpu0", DeviceKind::kVirtual)).has_value());
  NodeMemoryReader without_nvml(std::make_unique<ProcStatusReader>(proc.root()), nullptr);
  EXPECT_FALSE(without_nvml.ProcessUsedBytes(4242, Dev("gpu0", DeviceKind::kCuda, 0)).has_value());
}

DeviceInventory Inventory() {
  DeviceInventory inv;
  inv.devices = {Dev("gpu0", DeviceKind::kCuda, 0), Dev("gpu1", DeviceKind::kCuda, 1),
                 Dev("vgpu0", DeviceKind::kVirtual), Dev("vgpu1", DeviceKind::kVirtual)};
  return inv;
}

// The copy: 163 MiB reserved by the dry run, 652 MiB used on the GPU.
TEST(CopyMemoryTest, CudaCopiesUseTheDriversPerDeviceFigure) {
  auto nvml = std::make_unique<FakeNvmlReader>();
  nvml->used[{77, 0}] = 652 * kMiB;
  nvml->used[{77, 1}] = 100 * kMiB;
  NodeMemoryReader reader(std::make_unique<ProcStatusReader>("/nonexistent"), std::move(nvml));
  policy::Assignment a;
  a.devices = {{"gpu0", 163, 1000, 0}, {"gpu1", 163 + 489, 1000, 489}};
  CopyMemoryUse use = MeasureCopyMemory(77, a, Inventory(), reader);
  ASSERT_EQ(use.devices.size(), 2u);
  EXPECT_EQ(use.devices[0].used_bytes, 652 * kMiB);
  EXPECT_TRUE(use.devices[0].over());
  EXPECT_EQ(use.devices[1].used_bytes, 100 * kMiB);
  EXPECT_FALSE(use.devices[1].over());
  EXPECT_EQ(use.devices[1].overhead_mib, 489);
  EXPECT_TRUE(use.over_reservation());
  EXPECT_EQ(use.reserved_mib(), 163 + 652);
  EXPECT_EQ(use.used_bytes(), 752 * kMiB);
}

TEST(CopyMemoryTest, HostComputingCopiesSplitTheProcessFigureByReservation) {
  FakeProc proc;
  proc.Write(4242, kStatus);  // 200 MiB resident
  NodeMemoryReader reader(std::make_unique<ProcStatusReader>(proc.root()), nullptr);
  policy::Assignment a;
  a.devices = {{"vgpu0", 300, 1000, 40}, {"vgpu1", 100, 1000, 40}};
  CopyMemoryUse use = MeasureCopyMemory(4242, a, Inventory(), reader);
  EXPECT_EQ(use.devices[0].used_bytes, 150 * kMiB);
  EXPECT_EQ(use.devices[1].used_bytes, 50 * kMiB);
  EXPECT_FALSE(use.over_reservation());
  EXPECT_EQ(use.used_bytes(), 200 * kMiB);

  a.devices = {{"vgpu0", 199, 500, 40}};
  EXPECT_TRUE(MeasureCopyMemory(4242, a, Inventory(), reader).over_reservation());
  a.devices = {{"vgpu0", 200, 500, 40}};
  EXPECT_FALSE(
      MeasureCopyMemory(4242, a, Inventory(), reader).over_reservation());  // exactly at it
}

TEST(CopyMemoryTest, UnknownProcessesAndDevicesGiveUnknownUse) {
  FakeProc proc;
  proc.Write(4242, kStatus);
  NodeMemoryReader reader(std::make_unique<ProcStatusReader>(proc.root()), nullptr);
  policy::Assignment a;
  a.devices = {{"vgpu0", 100, 500, 0}, {"gone9", 100, 500, 0}, {"gpu0", 100, 500, 0}};
  CopyMemoryUse use = MeasureCopyMemory(4242, a, Inventory(), reader);
  EXPECT_TRUE(use.devices[0].used_bytes.has_value());
  EXPECT_FALSE(use.devices[1].used_bytes.has_value());                // not in the inventory
  EXPECT_FALSE(use.devices[2].used_bytes.has_value());                // CUDA without NVML
  CopyMemoryUse none = MeasureCopyMemory(0, a, Inventory(), reader);  // no process
  EXPECT_FALSE(none.used_bytes().has_value());
  EXPECT_FALSE(none.over_reservation());
  EXPECT_EQ(none.reserved_mib(), 300);
}

}  // namespace
}  // namespace cohost::agent
