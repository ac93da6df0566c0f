#include "sim/scenario.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "sim/traffic.h"

namespace cohost::sim {
namespace {

// A valid two-model scenario; tests change one line of it.
std::string Base() {
  return R"(name: tiny
duration_h: 1
seed: 3
fleet:
  node_types:
    - { name: n, devices: 2, device_memory_gb: 40, price_per_hour: 10 }
models:
  - name: a
    size_gb: 10
    reservation: { accelerators: 0.5, memory_gb: 12, cpu_cores: 1 }
    traffic: { rate_per_s: 1 }
  - name: b
    size_gb: 2
    reservation: { accelerators: 0.25, memory_gb: 4 }
    traffic: { rate_per_s: 0.5, pattern: bursty, on_s: 60, off_s: 240, burst_factor: 3 }
)";
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(ScenarioTest, ParsesAValidScenario) {
  auto s = ParseScenario(Base());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "tiny");
  EXPECT_DOUBLE_EQ(s->duration_s, 3600);
  ASSERT_EQ(s->models.size(), 2u);
  EXPECT_EQ(s->models[0].memory_mib, 12 * 1024);
  EXPECT_EQ(s->models[1].traffic.pattern, TrafficPattern::kBursty);
  EXPECT_EQ(s->strategies.size(), 4u);  // all of them by default
  EXPECT_EQ(s->models[1].line, 12);
}

TEST(ScenarioTest, ReservationLargerThanAnyDeviceNamesLineAndField) {
  auto s = ParseScenario(Replace(Base(), "memory_gb: 12,", "memory_gb: 50,"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().field(), "models[0].reservation.memory_gb");
  EXPECT_NE(s.status().message().find("line 10:"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("larger than any device"), std::string::npos);
}

TEST(ScenarioTest, ModelFittingNoNodeTypeIsReported) {
  // Four whole devices on a two-device node type.
  auto s = ParseScenario(Replace(Base(), "accelerators: 0.5", "accelerators: 4"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().field(), "models[0].reservation");
  EXPECT_NE(s.status().message().find("fits no node type"), std::string::npos) << s.status().message();
}

TEST(ScenarioTest, NegativeRateIsRejected) {
  auto s = ParseScenario(Replace(Base(), "rate_per_s: 0.5", "rate_per_s: -2"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().field(), "models[1].traffic.rate_per_s");
  EXPECT_NE(s.status().message().find("line 15:"), std::string::npos) << s.status().message();
}

TEST(ScenarioTest, UnknownFieldIsRejectedWithTheAllowedOnes) {
  auto s = ParseScenario(Replace(Base(), "seed: 3", "seed: 3\nsede: 4"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().field(), "sede");
  EXPECT_NE(s.status().message().find("allowed:"), std::string::npos);
}

TEST(ScenarioTest, BadStrategyAndBadYamlAreErrors) {
  auto s = ParseScenario(Base() + "strategies: [dedicated, cheapest]\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().field(), "strategies[1]");
  auto y = ParseScenario("models: [a, b\n");
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("line "), std::string::npos);
}

TEST(ScenarioTest, BurstFactorThatWouldMakeTheOffRateNegativeIsRejected) {
  auto s = ParseScenario(Replace(Base(), "burst_factor: 3", "burst_factor: 6"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().field(), "models[1].traffic.burst_factor");
}

TEST(TraceTest, UnknownModelNamesTheLine) {
  auto s = ParseScenario(Base());
  ASSERT_TRUE(s.ok());
  auto t = ParseTrace("timestamp,model,prompt_tokens,output_tokens\n0.5,a,10,5\n1.0,zzz,10,5\n", *s,
                      "t.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().field(), "t.csv line 3: model");
  EXPECT_NE(t.status().message().find("'zzz' is not in the scenario"), std::string::npos);
}

TEST(TraceTest, NegativeValuesAndBadColumnsAreErrors) {
  auto s = ParseScenario(Base());
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(ParseTrace("-1,a,10,5\n", *s).ok());
  EXPECT_FALSE(ParseTrace("1,a,-10,5\n", *s).ok());
  EXPECT_FALSE(ParseTrace("1,a,10\n", *s).ok());
  EXPECT_FALSE(ParseTrace("1,a,10,5,9\n", *s).ok());
}

TEST(TraceTest, ParsesAndSorts) {
  auto s = ParseScenario(Base());
  ASSERT_TRUE(s.ok());
  auto t = ParseTrace("# comment\n2.5,b,10,5\n\n1.0,a,20,7\n", *s);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0].model, 0);
  EXPECT_EQ((*t)[0].prompt_tokens, 20);
  EXPECT_DOUBLE_EQ((*t)[1].arrival_s, 2.5);
}

TEST(TrafficTest, GenerationIsDeterministicAndNearTheMeanRate) {
  auto s = ParseScenario(Base());
  ASSERT_TRUE(s.ok());
  auto a = GenerateTraffic(*s);
  auto b = GenerateTraffic(*s);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].arrival_s, b[i].arrival_s);
    ASSERT_EQ(a[i].output_tokens, b[i].output_tokens);
  }
  // 1.5 req/s for an hour: 5400 expected; Poisson sd ~73.
  EXPECT_NEAR(static_cast<double>(a.size()), 5400, 400);
  s->seed = 4;
  auto c = GenerateTraffic(*s);
  EXPECT_NE(c.size() == a.size() && c[0].arrival_s == a[0].arrival_s, true);
}

TEST(TrafficTest, ZipfSharesFollowRank) {
  auto s = ParseScenario(Replace(Replace(Base(), "traffic: { rate_per_s: 1 }", "traffic: {}"),
                                 "traffic: { rate_per_s: 0.5, pattern: bursty, on_s: 60, off_s: 240, burst_factor: 3 }",
                                 "traffic: {}") +
                         "traffic: { total_rate_per_s: 3, zipf_s: 1 }\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto rates = ModelRates(*s);
  EXPECT_NEAR(rates[0], 2.0, 1e-9);
  EXPECT_NEAR(rates[1], 1.0, 1e-9);
}

}  // namespace
}  // namespace cohost::sim

namespace cohost::sim {
namespace {

TEST(ScenarioTest, ProfileJsonFromCohostProfileGivesSpeedsAndBatching) {
  std::string dir = ::testing::TempDir();
  {
    std::ofstream out(dir + "/p.json");
    out << R"({"workload": {"prompt_tokens": 100},
               "measured": {"steps": [
                 {"concurrency": 1, "decode_tokens_per_s": 50, "ttft_ms": {"p50": 40}},
                 {"concurrency": 4, "decode_tokens_per_s": 150, "ttft_ms": {"p50": 60}},
                 {"concurrency": 8, "decode_tokens_per_s": 140, "ttft_ms": {"p50": 90}}]}})";
  }
  std::string yaml = R"(fleet:
  node_types:
    - { name: n, devices: 1, device_memory_gb: 40 }
models:
  - name: a
    size_gb: 1
    reservation: { accelerators: 0.5, memory_gb: 2 }
    profile_json: p.json
    traffic: { rate_per_s: 1 }
)";
  auto s = ParseScenario(yaml, dir);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const ServiceProfile& p = s->models[0].profile;
  EXPECT_DOUBLE_EQ(p.decode_tps, 50);
  EXPECT_DOUBLE_EQ(p.prompt_tps, 100 / 0.04);
  ASSERT_EQ(p.batching.size(), 2u);
  EXPECT_DOUBLE_EQ(p.batching[0].second, 3.0);
  EXPECT_DOUBLE_EQ(p.batching[1].second, 3.0);  // the dip at 8 does not make the curve fall

  auto missing = ParseScenario(Replace(yaml, "p.json", "nope.json"), dir);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().field(), "models[0].profile_json");
  EXPECT_NE(missing.status().message().find("line 8:"), std::string::npos) << missing.status().message();
}

}  // namespace
}  // namespace cohost::sim
