#include "profile/profiler.h"

#include <gtest/gtest.h>

#include "core/component.h"
#include "profile/report.h"

namespace cohost::profile {
namespace {

SweepStep Step(int c, double rps) {
  SweepStep s;
  s.concurrency = c;
  s.load.requests = s.load.ok = c;
  s.load.requests_per_s = rps;
  s.load.decode_tokens_per_s = rps * 16;
  s.load.ttft_ms.p99 = 10.0 * c;
  s.load.itl_ms.p99 = 2.0 * c;
  s.meets_slo = true;
  s.verdict = "meets";
  return s;
}

TEST(Recommend, ASpecTheControlApiAccepts) {
  ProfileOptions o;
  o.model_path = "/models/My_Model.Q8.gguf";
  o.context = 1024;
  o.threads = 2;
  o.rate_rps = 5;
  o.accelerator_memory_mib = 4096;
  DeviceAtHand cpu;
  cpu.name = "CPU";
  cpu.threads = 2;
  Recommendation r = Recommend(o, cpu, Step(4, 2.0), true, 1000, "/models/My_Model.Q8.gguf");
  EXPECT_EQ(r.parallel, 4);
  EXPECT_EQ(r.target_concurrency, 4);
  EXPECT_EQ(r.copies_for_rate, 3);              // ceil(5 / 2)
  EXPECT_DOUBLE_EQ(r.accelerators, 0.25);       // ceil(1000 / 4096 in hundredths)
  auto parsed = ParseInferenceComponent(r.spec);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << r.spec.dump(2);
  EXPECT_EQ(parsed->name, "my-model-q8");
  EXPECT_EQ(parsed->compute.memory_mib, 1000);
  EXPECT_DOUBLE_EQ(parsed->compute.cpu_cores, 2);
  EXPECT_EQ(parsed->startup.context_length, 1024);
  EXPECT_EQ(parsed->startup.parallel, 4);
  EXPECT_EQ(parsed->copies.initial, 3);
  EXPECT_EQ(parsed->copies.min, 1);
  EXPECT_DOUBLE_EQ(parsed->scaling.target, 4);
  // A rate beyond what a component may have is capped at the control API's bound.
  o.rate_rps = 1e9;
  r = Recommend(o, cpu, Step(4, 2.0), true, 1000, "/m.gguf");
  EXPECT_EQ(r.copies_for_rate, 500000000);
  ASSERT_TRUE(ParseInferenceComponent(r.spec).ok());
  EXPECT_EQ(r.spec["copies"]["initial"], 10000);
  // The CPU at hand and no device size: a CPU-only copy.
  o.accelerator_memory_mib = 0;
  o.rate_rps = 0;
  r = Recommend(o, cpu, Step(2, 2.0), true, 1000, "/m.gguf");
  EXPECT_DOUBLE_EQ(r.accelerators, 0);
  EXPECT_EQ(r.copies_for_rate, 0);
  EXPECT_TRUE(ParseInferenceComponent(r.spec).ok());
  // A GPU at hand: the share of its memory.
  DeviceAtHand gpu;
  gpu.gpu = true;
  gpu.memory_mib = 10000;
  r = Recommend(o, gpu, Step(2, 2.0), true, 2501, "/m.gguf");
  EXPECT_DOUBLE_EQ(r.accelerators, 0.26);
}

// A copy keeps the cores it computes with on the CPU; a GPU copy needs one to feed its device,
// however many the host has or the sweep's runner used.
TEST(Recommend, CpuCoresFollowWhereTheCopyComputes) {
  ProfileOptions o;
  o.model_path = "/m.gguf";
  DeviceAtHand cpu;
  cpu.name = "CPU: test (16 threads)";
  cpu.threads = 16;
  Recommendation r = Recommend(o, cpu, Step(2, 2.0), true, 1000, "/m.gguf");
  EXPECT_DOUBLE_EQ(r.cpu_cores, 16);
  EXPECT_DOUBLE_EQ(r.spec["compute"]["cpu_cores"].get<double>(), 16);
  EXPECT_NE(r.cpu_cores_basis.find("16 compute threads"), std::string::npos) << r.cpu_cores_basis;
  // Measured on the CPU for a (virtual) accelerator share: still computed by those threads.
  o.accelerator_memory_mib = 8192;
  r = Recommend(o, cpu, Step(2, 2.0), true, 1000, "/m.gguf");
  EXPECT_GT(r.accelerators, 0);
  EXPECT_DOUBLE_EQ(r.cpu_cores, 16);
  // On a real GPU: about one core, whatever the sweep's runner had.
  DeviceAtHand gpu;
  gpu.name = "NVIDIA H200";
  gpu.gpu = true;
  gpu.memory_mib = 143771;
  gpu.threads = 16;
  o.accelerator_memory_mib = 0;
  r = Recommend(o, gpu, Step(8, 20.0), true, 4000, "/m.gguf");
  EXPECT_DOUBLE_EQ(r.cpu_cores, kGpuCopyCpuCores);
  EXPECT_DOUBLE_EQ(kGpuCopyCpuCores, 1);
  EXPECT_DOUBLE_EQ(r.accelerators, 0.03);
  EXPECT_NE(r.cpu_cores_basis.find("NVIDIA H200"), std::string::npos) << r.cpu_cores_basis;
  auto parsed = ParseInferenceComponent(r.spec);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_DOUBLE_EQ(parsed->compute.cpu_cores, 1);
}

TEST(ProfileOptionsTest, OutOfRangeOptionsAreNamed) {
  ProfileOptions o;
  o.model_path = "m.gguf";
  EXPECT_TRUE(ValidateProfileOptions(o).ok());
  o.context = 100;
  EXPECT_EQ(ValidateProfileOptions(o).field(), "--context");  // 128 + 128 do not fit
  o = ProfileOptions{};
  o.model_path = "m.gguf";
  o.rate_rps = -1;
  EXPECT_EQ(ValidateProfileOptions(o).field(), "--rate");
  o.rate_rps = 0;
  o.max_concurrency = 0;
  EXPECT_EQ(ValidateProfileOptions(o).field(), "--max-concurrency");
  o.max_concurrency = 4;
  o.output_tokens = 1;
  EXPECT_EQ(ValidateProfileOptions(o).field(), "--output-tokens");
  o = ProfileOptions{};
  EXPECT_EQ(ValidateProfileOptions(o).field(), "MODEL");
}

TEST(Report, LabelsMeasuredAndProjected) {
  ProfileReport r;
  r.options.model_path = "m.gguf";
  r.options.slo.itl_ms = 50;
  r.device.name = "CPU: test (2 threads)";
  r.steps = {Step(1, 1.0), Step(2, 1.8)};
  r.best = 1;
  r.chosen = 1;
  r.efficiency = 0.5;
  DeviceType t{"H100", "NVIDIA H100", 80, 3350, 989, 6.88};
  r.projections.push_back(Project(t, {1e9, 1e5, 1e9}, {2048, 2000, 24, 256}, Workload{}, 0.5, 64));
  r.recommendation.spec = {{"name", "m"}};
  nlohmann::json j = ReportJson(r);
  EXPECT_EQ(j["measured"]["kind"], "measured");
  EXPECT_EQ(j["measured"]["device"], "CPU: test (2 threads)");
  EXPECT_EQ(j["measured"]["best_concurrency"], 2);
  EXPECT_EQ(j["projected"][0]["kind"], "projected");
  EXPECT_EQ(j["projected"][0]["device"], "H100");
  std::string table = RenderTable(r);
  EXPECT_NE(table.find("Measured on CPU: test (2 threads)"), std::string::npos) << table;
  EXPECT_NE(table.find("Projected per device type"), std::string::npos);
  EXPECT_NE(table.find("<- best"), std::string::npos);
  std::string svg = RenderSvg(r);
  EXPECT_NE(svg.find("SLO ITL 50 ms"), std::string::npos);
  EXPECT_NE(svg.find("(projected)"), std::string::npos);
  EXPECT_NE(svg.find("(measured)"), std::string::npos);
}

}  // namespace
}  // namespace cohost::profile
