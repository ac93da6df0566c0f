#include "agent/node_devices.h"

#include <gtest/gtest.h>

namespace cohost::agent {
namespace {

TEST(NodeDevicesTest, VisibleUnderTakesIndicesAndUuidPrefixes) {
  EXPECT_TRUE(VisibleUnder("0,2", 2, "GPU-abc"));
  EXPECT_FALSE(VisibleUnder("0,2", 1, "GPU-abc"));
  EXPECT_TRUE(VisibleUnder(" 1 ", 1, ""));
  EXPECT_TRUE(VisibleUnder("GPU-11111111-fake", 1, "GPU-11111111-fake"));
  EXPECT_TRUE(VisibleUnder("GPU-1111", 1, "GPU-11111111-fake"));
  EXPECT_FALSE(VisibleUnder("GPU-2222", 1, "GPU-11111111-fake"));
  EXPECT_FALSE(VisibleUnder("", 0, "GPU-abc"));
}

TEST(NodeDevicesTest, TheHostDeviceIsReadLikeGgmlReadsIt) {
  Device host = HostDevice();
  EXPECT_EQ(host.id, "cpu");
  EXPECT_EQ(host.kind, DeviceKind::kCpu);
  EXPECT_FALSE(host.name.empty());
  EXPECT_GT(host.memory_mib, 0);
}

TEST(NodeDevicesTest, GpusComeFromNvmlWithoutAChild) {
  DiscoveryOptions o;
  o.cohost_binary = "/nonexistent/cohost";  // a child would fail
  o.with_cuda = true;
  o.nvml_library = COHOST_FAKE_NVML;
  auto found = DiscoverNodeDevices(o);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->source, "nvml");
  EXPECT_EQ(found->driver_version, "999.12.3");
  EXPECT_NE(found->nvml, nullptr);
  ASSERT_EQ(found->inventory.devices.size(), 3u);
  const Device& g1 = found->inventory.devices[1];
  EXPECT_EQ(g1.id, "gpu1");
  EXPECT_EQ(g1.name, "Fake L4");
  EXPECT_EQ(g1.kind, DeviceKind::kCuda);
  EXPECT_EQ(g1.memory_mib, 23034);
  EXPECT_EQ(g1.cuda_index, 1);
  EXPECT_EQ(found->inventory.devices[2].id, "cpu");
  EXPECT_TRUE(found->inventory.Validate().ok());

  o.cuda_visible_devices = "1";
  auto only = DiscoverNodeDevices(o);
  ASSERT_TRUE(only.ok());
  ASSERT_EQ(only->inventory.devices.size(), 2u);
  EXPECT_EQ(only->inventory.devices[0].id, "gpu0");
  EXPECT_EQ(only->inventory.devices[0].name, "Fake L4");
  EXPECT_EQ(only->inventory.devices[0].cuda_index, 1);  // NVML's index, what runners are pinned by
}

TEST(NodeDevicesTest, WithoutNvmlOrWithoutCudaTheChildIsAsked) {
  DiscoveryOptions o;
  o.cohost_binary = "/nonexistent/cohost";
  o.with_cuda = true;
  o.nvml_library = "libcohost-no-such-nvml.so.1";
  EXPECT_FALSE(DiscoverNodeDevices(o).ok());  // fell back to the (missing) child
  o.with_cuda = false;
  o.nvml_library = COHOST_FAKE_NVML;  // present, but a CPU build cannot use its GPUs
  EXPECT_FALSE(DiscoverNodeDevices(o).ok());
}

}  // namespace
}  // namespace cohost::agent
