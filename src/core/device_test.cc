#include "core/device.h"

#include <gtest/gtest.h>

namespace cohost {
namespace {

Device Dev(std::string id, DeviceKind kind, int64_t memory_mib, std::string group = "") {
  return Device{id, id, kind, memory_mib, std::move(group)};
}

Device WithOverhead(Device d, int64_t overhead_mib) {
  d.process_overhead_mib = overhead_mib;
  return d;
}

TEST(DeviceInventoryTest, KindsParseAndName) {
  for (DeviceKind kind : {DeviceKind::kCuda, DeviceKind::kCpu, DeviceKind::kVirtual}) {
    EXPECT_EQ(*ParseDeviceKind(DeviceKindName(kind)), kind);
  }
  StatusOr<DeviceKind> bad = ParseDeviceKind("rocm", "devices[0].kind");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().field(), "devices[0].kind");
}

TEST(DeviceInventoryTest, VirtualIsAKindNobodyElseClaims) {
  EXPECT_TRUE(Dev("vgpu0", DeviceKind::kVirtual, 1).is_virtual());
  EXPECT_FALSE(Dev("gpu0", DeviceKind::kCuda, 1).is_virtual());
  EXPECT_TRUE(Dev("gpu0", DeviceKind::kCuda, 1).is_accelerator());
  EXPECT_FALSE(Dev("cpu", DeviceKind::kCpu, 1).is_accelerator());
}

TEST(DeviceInventoryTest, FindsAndCounts) {
  DeviceInventory inv;
  inv.devices = {Dev("gpu0", DeviceKind::kCuda, 81920), Dev("vgpu0", DeviceKind::kVirtual, 16384),
                 Dev("cpu", DeviceKind::kCpu, 65536)};
  inv.cpu_cores = 16;
  EXPECT_TRUE(inv.Validate().ok());
  ASSERT_NE(inv.Find("vgpu0"), nullptr);
  EXPECT_EQ(inv.Find("vgpu0")->memory_mib, 16384);
  EXPECT_EQ(inv.Find("gpu7"), nullptr);
  EXPECT_EQ(inv.accelerator_count(), 2);
  EXPECT_TRUE(inv.has_virtual());
  inv.devices.erase(inv.devices.begin() + 1);
  EXPECT_FALSE(inv.has_virtual());
}

TEST(DeviceInventoryTest, ValidateNamesTheField) {
  struct Case {
    std::vector<Device> devices;
    double cpu_cores;
    const char* field;
  } cases[] = {
      {{Dev("gpu0", DeviceKind::kCuda, 1), Dev("gpu0", DeviceKind::kCuda, 1)}, 1, "devices[1].id"},
      {{Dev("", DeviceKind::kCuda, 1)}, 1, "devices[0].id"},
      {{Dev("gpu 0", DeviceKind::kCuda, 1)}, 1, "devices[0].id"},
      {{Dev("-gpu", DeviceKind::kCuda, 1)}, 1, "devices[0].id"},
      {{Dev(std::string(64, 'g'), DeviceKind::kCuda, 1)}, 1, "devices[0].id"},
      {{Dev("cpu", DeviceKind::kVirtual, 1)}, 1, "devices[0].id"},
      {{Dev("host", DeviceKind::kCpu, 1)}, 1, "devices[0].id"},
      {{Dev("gpu0", DeviceKind::kCuda, 1), Dev("gpu1", DeviceKind::kCuda, 0)},
       1,
       "devices[1].memory_mib"},
      {{Dev("gpu0", DeviceKind::kCuda, -5)}, 1, "devices[0].memory_mib"},
      {{WithOverhead(Dev("gpu0", DeviceKind::kCuda, 100), -1)}, 1, "devices[0].process_overhead_mib"},
      {{WithOverhead(Dev("gpu0", DeviceKind::kCuda, 100), 101)}, 1, "devices[0].process_overhead_mib"},
      {{}, -1, "cpu_cores"},
  };
  for (const Case& c : cases) {
    DeviceInventory inv;
    inv.devices = c.devices;
    inv.cpu_cores = c.cpu_cores;
    Status s = inv.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_EQ(s.field(), c.field) << s.ToString();
  }
}

TEST(DeviceInventoryTest, DeviceIdsAcceptTheUsualForms) {
  for (const char* id : {"gpu0", "vgpu12", "GPU-0", "nvlink.a", "a_b"}) {
    EXPECT_TRUE(ValidateDeviceId(id, "id").ok()) << id;
  }
  EXPECT_FALSE(ValidateDeviceId(".hidden", "id").ok());
  EXPECT_FALSE(ValidateDeviceId("gpu/0", "id").ok());
}

}  // namespace
}  // namespace cohost
