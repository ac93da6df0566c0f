#include "profile/device_catalog.h"

#include <gtest/gtest.h>

#include <set>

namespace cohost::profile {
namespace {

const char* kGood = R"(as_of: "2025-06"
note: test
devices:
  - id: X1
    name: Example One
    memory_gib: 24
    memory_bandwidth_gbs: 300
    dense_tflops: 121
    price_per_hour_usd: 0.8
  - id: X2
    name: Example Two
    memory_gib: 80.5
    memory_bandwidth_gbs: 3350
    dense_tflops: 989
    price_per_hour_usd: 6.88
)";

TEST(DeviceCatalog, ParsesEveryField) {
  auto c = ParseDeviceCatalog(kGood, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->as_of, "2025-06");
  EXPECT_EQ(c->note, "test");
  ASSERT_EQ(c->devices.size(), 2u);
  EXPECT_EQ(c->devices[1].id, "X2");
  EXPECT_EQ(c->devices[1].name, "Example Two");
  EXPECT_DOUBLE_EQ(c->devices[1].memory_gib, 80.5);
  EXPECT_EQ(c->devices[1].memory_mib(), 82432);
  EXPECT_DOUBLE_EQ(c->devices[1].bandwidth_gbs, 3350);
  EXPECT_DOUBLE_EQ(c->devices[1].dense_tflops, 989);
  EXPECT_DOUBLE_EQ(c->devices[0].price_per_hour, 0.8);
}

TEST(DeviceCatalog, BuiltinCatalogHasTheCommonAccelerators) {
  auto c = BuiltinDeviceCatalog();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::set<std::string> ids;
  for (const auto& d : c->devices) ids.insert(d.id);
  for (const char* want : {"L4", "L40S", "A10G", "A100-40", "A100-80", "H100", "H200"}) {
    EXPECT_TRUE(ids.count(want)) << want;
  }
  EXPECT_FALSE(c->as_of.empty());
}

struct BadCase {
  std::string text;
  std::string field;
  std::string message_part;  // includes the line
};

TEST(DeviceCatalog, ErrorsNameTheLineAndTheField) {
  const std::string head = "as_of: x\ndevices:\n  - id: A\n    name: a\n";
  const std::string rest = "    memory_bandwidth_gbs: 1\n    dense_tflops: 1\n    price_per_hour_usd: 1\n";
  std::vector<BadCase> cases = {
      {head + "    memory_gib: lots\n" + rest, "devices[0].memory_gib", "t.yaml:5: devices[0].memory_gib: expected a number > 0, got 'lots'"},
      {head + "    memory_gib: -3\n" + rest, "devices[0].memory_gib", "t.yaml:5:"},
      {head + rest, "devices[0].memory_gib", "t.yaml:3: devices[0].memory_gib: missing"},
      {head + "    memory_gib: 1\n    colour: red\n" + rest, "devices[0].colour", "t.yaml:6: devices[0].colour: unknown field"},
      {head + "    memory_gib: 1\n" + rest + "  - id: A\n    name: b\n    memory_gib: 1\n" + rest, "devices[1].id",
       "t.yaml:9: devices[1].id: duplicate id 'A'"},
      {"as_of: x\ndevices: []\n", "devices", "t.yaml:2: devices: expected a non-empty list"},
      {"devices:\n  - id: A\n", "as_of", "as_of: missing"},
      {"as_of: x\n", "devices", "devices: missing"},
      {"as_of: x\ndevices: [\n", "yaml", "not valid YAML"},
      {"- 1\n- 2\n", "catalog", "expected a mapping"},
      {"as_of: x\ndevices:\n  - 7\n", "devices[0]", "t.yaml:3: devices[0]: expected a mapping"},
      {"as_of: x\ndevices:\n  - id: \"a b\"\n", "devices[0].id", "expected letters, digits"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = ParseDeviceCatalog(c.text, "t.yaml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().field(), c.field);
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos) << r.status().message();
  }
}

TEST(DeviceCatalog, MissingFileIsNotFound) {
  auto r = LoadDeviceCatalog("/nonexistent/devices.yaml");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/devices.yaml"), std::string::npos);
}

}  // namespace
}  // namespace cohost::profile
