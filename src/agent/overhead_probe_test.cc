// The overhead resolution's bookkeeping: device types, the configured figure, and the cache. The
// probe itself runs real runners: tests/serve_memory_test.cc.
#include "agent/overhead_probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace cohost::agent {
namespace {

using ::testing::HasSubstr;

Device Dev(std::string id, DeviceKind kind, std::string name = "") {
  Device d{id, name.empty() ? id : name, kind, 8192, ""};
  if (kind == DeviceKind::kCuda) d.cuda_index = 0;
  return d;
}

DeviceInventory Node() {
  DeviceInventory inv;
  inv.devices = {Dev("gpu0", DeviceKind::kCuda, "NVIDIA H200"),
                 Dev("gpu1", DeviceKind::kCuda, "NVIDIA H200"), Dev("vgpu0", DeviceKind::kVirtual),
                 Dev("cpu", DeviceKind::kCpu)};
  return inv;
}

TEST(OverheadProbeTest, GpusAreTypedByNameAndEverythingElseIsTheHost) {
  EXPECT_EQ(DeviceTypeOf(Dev("gpu0", DeviceKind::kCuda, "NVIDIA H200")), "cuda:NVIDIA H200");
  EXPECT_EQ(DeviceTypeOf(Dev("vgpu0", DeviceKind::kVirtual, "virtual accelerator 0")), "host");
  EXPECT_EQ(DeviceTypeOf(Dev("cpu", DeviceKind::kCpu, "AMD EPYC")), "host");
}

// The H200's figures: NVML says 518 MiB for a bare context; the device lost 526.
TEST(OverheadProbeTest, AGpuProbeCountsWhatTheDeviceLost) {
  constexpr int64_t kMiB = int64_t{1} << 20;
  ProbeUse both = ChooseProbeUse(DeviceKind::kCuda, 518 * kMiB, 615 * kMiB, 1141 * kMiB);
  EXPECT_EQ(both.bytes, 526 * kMiB);
  EXPECT_EQ(both.method, "nvml_device_delta");
  ProbeUse process = ChooseProbeUse(DeviceKind::kCuda, 530 * kMiB, 615 * kMiB, 1141 * kMiB);
  EXPECT_EQ(process.bytes, 530 * kMiB);
  EXPECT_EQ(process.method, "nvml_process");
  ProbeUse unlisted = ChooseProbeUse(DeviceKind::kCuda, std::nullopt, 615 * kMiB, 1141 * kMiB);
  EXPECT_EQ(unlisted.bytes, 526 * kMiB);  // another PID namespace
  EXPECT_FALSE(ChooseProbeUse(DeviceKind::kCuda, std::nullopt, std::nullopt, 1141 * kMiB).bytes);
  ProbeUse host = ChooseProbeUse(DeviceKind::kVirtual, 32 * kMiB, std::nullopt, std::nullopt);
  EXPECT_EQ(host.bytes, 32 * kMiB);
  EXPECT_EQ(host.method, "proc_vmrss");
}

TEST(OverheadProbeTest, AConfiguredFigureAppliesToEveryDeviceWithoutAProbe) {
  ProcStatusReader reader;
  OverheadOptions o;
  o.configured_mib = 7;
  o.probe.cohost_binary = "/nonexistent/cohost";  // a probe would fail
  auto out = ResolveProcessOverheads(Node(), reader, o);
  ASSERT_EQ(out.size(), 4u);
  for (const auto& [id, overhead] : out) {
    EXPECT_EQ(overhead.mib, 7) << id;
    EXPECT_EQ(overhead.source, "configured") << id;
  }
}

// A cached type is not probed; a type whose probe fails counts 0 and says why, once per type.
TEST(OverheadProbeTest, CachedTypesAreNotProbedAndFailedProbesCountNothing) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("cohost-probe-" + std::to_string(getpid())))
          .string();
  std::filesystem::create_directories(dir);
  OverheadOptions o;
  o.cache_path = dir + "/process_overhead.json";
  o.cohost_build = "build-1";
  o.driver_version = "580.159.04";
  o.probe.cohost_binary = "/nonexistent/cohost";
  o.probe.model_path = dir + "/probe.gguf";
  o.probe.runtime_dir = dir + "/run";
  OverheadCache cache = OverheadCache::Load(o.cache_path);
  cache.Put({"host", "", "build-1", kOverheadProbeVersion},
            {21, 32LL << 20, 11LL << 20, "proc_vmrss"});
  ASSERT_TRUE(cache.Save().ok());

  ProcStatusReader reader;
  auto out = ResolveProcessOverheads(Node(), reader, o);
  EXPECT_EQ(out["vgpu0"].mib, 21);
  EXPECT_EQ(out["vgpu0"].source, "cached");
  EXPECT_EQ(out["cpu"].source, "cached");
  EXPECT_THAT(out["cpu"].detail,
              HasSubstr("probe runner used 32 MiB (proc_vmrss), its buffers 11 MiB"));
  for (const char* gpu : {"gpu0", "gpu1"}) {
    EXPECT_EQ(out[gpu].mib, 0) << gpu;
    EXPECT_EQ(out[gpu].source, "unmeasured") << gpu;
    EXPECT_THAT(out[gpu].detail, HasSubstr("the probe failed")) << gpu;
  }
  // Nothing was measured, so nothing new was cached for the GPU type.
  EXPECT_FALSE(OverheadCache::Load(o.cache_path)
                   .Find({"cuda:NVIDIA H200", "580.159.04", "build-1", kOverheadProbeVersion})
                   .has_value());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cohost::agent
