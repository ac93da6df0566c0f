#include "core/inventory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cohost {
namespace {

using ::testing::HasSubstr;

TEST(InventoryJsonTest, ParsesVirtualDevicesCoresAndHostMemory) {
  StatusOr<DeviceInventory> inv = ParseInventoryJson(R"({
    "devices": [
      {"name": "vgpu0", "memory_mib": 16384, "link_group": "nvlink-a"},
      {"name": "vgpu1", "memory_mib": 16384, "link_group": "nvlink-a"},
      {"name": "vgpu2", "memory_mib": 8192}
    ],
    "cpu_cores": 16,
    "host_memory_mib": 65536
  })");
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  ASSERT_EQ(inv->devices.size(), 4u);
  const Device& d0 = inv->devices[0];
  EXPECT_EQ(d0.id, "vgpu0");
  EXPECT_EQ(d0.name, "vgpu0");
  EXPECT_EQ(d0.kind, DeviceKind::kVirtual);
  EXPECT_TRUE(d0.is_virtual());
  EXPECT_EQ(d0.memory_mib, 16384);
  EXPECT_EQ(d0.link_group, "nvlink-a");
  EXPECT_EQ(inv->devices[2].link_group, "");
  EXPECT_EQ(inv->devices[3].id, "cpu");
  EXPECT_EQ(inv->devices[3].kind, DeviceKind::kCpu);
  EXPECT_EQ(inv->devices[3].memory_mib, 65536);
  EXPECT_EQ(inv->accelerator_count(), 3);
  EXPECT_DOUBLE_EQ(inv->cpu_cores, 16);
}

TEST(InventoryJsonTest, OptionalFieldsMayBeLeftOut) {
  StatusOr<DeviceInventory> inv = ParseInventoryJson(R"({"devices": []})");
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_TRUE(inv->devices.empty());
  EXPECT_EQ(inv->cpu_cores, 0);  // the caller fills in the machine's cores
  inv = ParseInventoryJson(R"({"devices": [{"name": "v", "memory_mib": 1}], "cpu_cores": 0.5})");
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_DOUBLE_EQ(inv->cpu_cores, 0.5);
}

TEST(InventoryJsonTest, ErrorsNameTheField) {
  struct Case {
    const char* json;
    const char* field;
  } cases[] = {
      {R"([])", ""},
      {R"({})", "devices"},
      {R"({"devices": {}})", "devices"},
      {R"({"devices": [], "gpus": 2})", "gpus"},
      {R"({"devices": [7]})", "devices[0]"},
      {R"({"devices": [{"memory_mib": 1}]})", "devices[0].name"},
      {R"({"devices": [{"name": 3, "memory_mib": 1}]})", "devices[0].name"},
      {R"({"devices": [{"name": "bad name", "memory_mib": 1}]})", "devices[0].name"},
      {R"({"devices": [{"name": "cpu", "memory_mib": 1}]})", "devices[0].name"},
      {R"({"devices": [{"name": "v0"}]})", "devices[0].memory_mib"},
      {R"({"devices": [{"name": "v0", "memory_mib": 1},
                       {"name": "v1", "memory_mib": 1},
                       {"name": "v2", "memory_mib": -1}]})",
       "devices[2].memory_mib"},
      {R"({"devices": [{"name": "v0", "memory_mib": 0}]})", "devices[0].memory_mib"},
      {R"({"devices": [{"name": "v0", "memory_mib": 1.5}]})", "devices[0].memory_mib"},
      {R"({"devices": [{"name": "v0", "memory_mib": "16G"}]})", "devices[0].memory_mib"},
      {R"({"devices": [{"name": "v0", "memory_mib": 18446744073709551615}]})",
       "devices[0].memory_mib"},
      {R"({"devices": [{"name": "v0", "memory_mib": 1, "link_group": 2}]})",
       "devices[0].link_group"},
      {R"({"devices": [{"name": "v0", "memory_mib": 1, "link_group": ""}]})",
       "devices[0].link_group"},
      {R"({"devices": [{"name": "v0", "memory_mib": 1, "memory": 2}]})", "devices[0].memory"},
      {R"({"devices": [{"name": "v0", "memory_mib": 1}, {"name": "v0", "memory_mib": 1}]})",
       "devices[1].name"},
      {R"({"devices": [], "cpu_cores": 0})", "cpu_cores"},
      {R"({"devices": [], "cpu_cores": -2})", "cpu_cores"},
      {R"({"devices": [], "cpu_cores": "16"})", "cpu_cores"},
      {R"({"devices": [], "host_memory_mib": 0})", "host_memory_mib"},
  };
  for (const Case& c : cases) {
    StatusOr<DeviceInventory> inv = ParseInventoryJson(c.json);
    EXPECT_EQ(inv.status().code(), StatusCode::kInvalidArgument) << c.json;
    EXPECT_EQ(inv.status().field(), c.field) << c.json << " -> " << inv.status().ToString();
  }
}

TEST(InventoryJsonTest, MessagesSayWhatWouldBeAccepted) {
  StatusOr<DeviceInventory> inv =
      ParseInventoryJson(R"({"devices": [{"name": "v0", "memory_mb": 1}]})");
  EXPECT_EQ(inv.status().field(), "devices[0].memory_mb");
  EXPECT_THAT(inv.status().message(), HasSubstr("accepted fields: name, memory_mib, link_group"));
  inv = ParseInventoryJson(R"({"devices": [{"name": "v0", "memory_mib": -3}]})");
  EXPECT_THAT(inv.status().message(), HasSubstr("whole number of MiB"));
  EXPECT_THAT(inv.status().message(), HasSubstr("(got -3)"));
}

TEST(InventoryJsonTest, TextThatIsNotJsonSaysWhere) {
  StatusOr<DeviceInventory> inv = ParseInventoryJson("{\"devices\": [\n  {\"name\": }]}");
  EXPECT_EQ(inv.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(inv.status().field(), "");
  EXPECT_THAT(inv.status().message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(inv.status().message(), HasSubstr("line 2"));
  EXPECT_EQ(ParseInventoryJson("").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cohost
