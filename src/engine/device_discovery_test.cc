#include "engine/device_discovery.h"

#include <gtest/gtest.h>

#include <set>

#include "engine/llama_runtime.h"

namespace cohost::engine {
namespace {

TEST(DeviceDiscoveryTest, FindsTheHostWithItsMemory) {
  InitLlamaRuntime(false);
  std::vector<DiscoveredDevice> found = DiscoverDevices();
  std::set<std::string> ids;
  int hosts = 0;
  for (const auto& d : found) {
    EXPECT_TRUE(ids.insert(d.device.id).second) << "duplicate id " << d.device.id;
    EXPECT_GT(d.device.memory_mib, 0) << d.device.id;
    EXPECT_FALSE(d.device.is_virtual());
    hosts += d.device.kind == DeviceKind::kCpu;
  }
  EXPECT_EQ(hosts, 1);
  DeviceInventory inv = DiscoveredInventory();
  EXPECT_TRUE(inv.Validate().ok()) << inv.Validate().ToString();
  EXPECT_GE(inv.cpu_cores, 1);
}

}  // namespace
}  // namespace cohost::engine
