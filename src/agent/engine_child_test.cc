#include "agent/engine_child.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cohost::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(EngineChildTest, ChildrenSeeGpusInPciOrderAndOnlyThoseAsked) {
  EXPECT_THAT(EngineChildEnvironment(std::nullopt), ElementsAre("CUDA_DEVICE_ORDER=PCI_BUS_ID"));
  EXPECT_THAT(EngineChildEnvironment(std::vector<int>{1, 3}),
              ElementsAre("CUDA_DEVICE_ORDER=PCI_BUS_ID", "CUDA_VISIBLE_DEVICES=1,3"));
  EXPECT_THAT(EngineChildEnvironment(std::vector<int>{}),
              ElementsAre("CUDA_DEVICE_ORDER=PCI_BUS_ID", "CUDA_VISIBLE_DEVICES="));
}

TEST(EngineChildTest, MemoryNeedArgvPassesOnlyWhatWasSet) {
  MemoryNeedQuery q;
  q.model_path = "/m/a.gguf";
  q.context = 256;
  q.parallel = 2;
  EXPECT_THAT(MemoryNeedArgv("/bin/cohost", q),
              ElementsAre("/bin/cohost", "memory-need", "--model", "/m/a.gguf", "--context", "256",
                          "--parallel", "2", "--gpu-layers", "-1"));
  q.batch = 32;
  q.ubatch = 16;
  q.gpu_layers = 0;
  EXPECT_THAT(
      MemoryNeedArgv("/bin/cohost", q),
      ElementsAre("/bin/cohost", "memory-need", "--model", "/m/a.gguf", "--context", "256",
                  "--parallel", "2", "--gpu-layers", "0", "--batch", "32", "--ubatch", "16"));
}

TEST(EngineChildTest, ParsesTheDryRunAndItsDevices) {
  auto need = ParseMemoryNeedJson(
      R"({"by_device":{"CPU":8388608,"CUDA0":104857600},"compute_bytes":1,"kv_bytes":2,)"
      R"("n_params":8520320,"total_bytes":113246208,"total_mib":108,"weights_bytes":3})");
  ASSERT_TRUE(need.ok()) << need.status().ToString();
  EXPECT_EQ(need->total_bytes, 113246208);
  EXPECT_EQ(need->total_mib, 108);
  EXPECT_EQ(need->n_params, 8520320);
  EXPECT_EQ(need->accelerator_bytes(), 104857600);  // the host's part is not on the GPU
}

TEST(EngineChildTest, TheChildsErrorKeepsItsCodeAndField) {
  auto need = ParseMemoryNeedJson(
      R"({"error":{"code":"NOT_FOUND","field":"","message":"model file not found: x.gguf"}})");
  EXPECT_EQ(need.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(need.status().message(), "model file not found: x.gguf");
  auto bad = ParseMemoryNeedJson(
      R"({"error":{"code":"INVALID_ARGUMENT","field":"parallel","message":"m"}})");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().field(), "parallel");
  EXPECT_EQ(ParseMemoryNeedJson("Segmentation fault").status().code(), StatusCode::kInternal);
  EXPECT_EQ(ParseMemoryNeedJson(R"({"total_mib": 3})").status().code(), StatusCode::kInternal);
}

TEST(EngineChildTest, ParsesCohostDevicesJson) {
  auto devices = ParseDevicesJson(R"json({"devices": [
      {"id": "gpu0", "name": "NVIDIA H200", "kind": "cuda", "virtual": false, "memory_mib": 143771,
       "free_mib": 143000, "link_group": "", "backend": "CUDA0", "cuda_index": 0},
      {"id": "cpu", "name": "Intel(R) Xeon(R)", "kind": "cpu", "virtual": false,
       "memory_mib": 128869, "free_mib": 128869, "link_group": "", "backend": "CPU",
       "cuda_index": -1}]})json");
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  ASSERT_EQ(devices->size(), 2u);
  EXPECT_EQ((*devices)[0].device.kind, DeviceKind::kCuda);
  EXPECT_EQ((*devices)[0].device.cuda_index, 0);
  EXPECT_EQ((*devices)[0].device.memory_mib, 143771);
  EXPECT_EQ((*devices)[0].backend, "CUDA0");
  EXPECT_EQ((*devices)[1].device.id, "cpu");
  EXPECT_EQ((*devices)[1].device.name, "Intel(R) Xeon(R)");
  EXPECT_EQ(ParseDevicesJson("{}").status().code(), StatusCode::kInternal);
  auto wrong = ParseDevicesJson(
      R"json({"devices": [{"id": "x", "name": "y", "kind": "tpu", "memory_mib": 1}]})json");
  EXPECT_FALSE(wrong.ok());
}

}  // namespace
}  // namespace cohost::agent
