#include "core/component.h"

#include <gtest/gtest.h>

#include <cmath>

namespace cohost {
namespace {

using json = nlohmann::json;

json Example() {
  return json::parse(R"({ "name": "codegen-inline", "endpoint": "main",
    "model": { "uri": "s3://models/codegen-1b.gguf" },
    "compute": { "accelerators": 0.5, "memory_mb": 6144, "cpu_cores": 2 },
    "startup": { "context_length": 4096, "parallel": 8 },
    "copies": { "initial": 1, "min": 0, "max": 4 },
    "scaling": { "metric": "concurrent_requests_per_copy", "target": 6,
                 "scale_out_cooldown_s": 10, "scale_in_cooldown_s": 120, "scale_to_zero_after_s": 600 },
    "priority": 50 })");
}

TEST(ComponentTest, ParsesTheDesignExample) {
  auto c = ParseInferenceComponent(Example());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->name, "codegen-inline");
  EXPECT_DOUBLE_EQ(c->compute.accelerators, 0.5);
  EXPECT_EQ(c->compute.memory_mib, 6144);
  EXPECT_EQ(c->startup.parallel, 8);
  EXPECT_EQ(c->copies.max, 4);
  EXPECT_DOUBLE_EQ(c->scaling.target, 6);
  EXPECT_EQ(c->placement, PlacementStrategy::kBinpack);
  // Round trip through the full JSON form.
  auto again = ParseInferenceComponent(ToJson(*c));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ToJson(*again), ToJson(*c));
}

TEST(ComponentTest, DefaultsForOmittedFields) {
  auto c = ParseInferenceComponent(json::parse(R"({"name": "a", "endpoint": "main", "model": {"uri": "/m.gguf"}})"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->compute.accelerators, 0);
  EXPECT_EQ(c->compute.memory_mib, 0);  // measured later
  EXPECT_EQ(c->copies.initial, 1);
  EXPECT_EQ(c->priority, 50);
}

struct Bad {
  const char* patch;  // merged into Example()
  const char* field;
};

TEST(ComponentTest, BadInputNamesTheField) {
  const Bad cases[] = {
      {R"({"name": "Codegen"})", "name"},
      {R"({"name": "a_b"})", "name"},
      {R"({"name": "-ab"})", "name"},
      {R"({"name": "ab-"})", "name"},
      {R"({"endpoint": ""})", "endpoint"},
      {R"({"color": "red"})", "color"},
      {R"({"compute": {"gpus": 1}})", "compute.gpus"},
      {R"({"compute": {"memory_mb": -5}})", "compute.memory_mb"},
      {R"({"compute": {"accelerators": -1}})", "compute.accelerators"},
      {R"({"compute": {"accelerators": 1.5}})", "compute.accelerators"},
      {R"({"startup": {"parallel": 0}})", "startup.parallel"},
      {R"({"startup": {"load_mode": "fast"}})", "startup.load_mode"},
      {R"({"copies": {"min": 3, "max": 2, "initial": 2}})", "copies.min"},
      {R"({"copies": {"initial": 9}})", "copies.initial"},
      {R"({"scaling": {"metric": "gpu_util"}})", "scaling.metric"},
      {R"({"scaling": {"target": 0}})", "scaling.target"},
      {R"({"scaling": {"stabilization_window_s": -1}})", "scaling.stabilization_window_s"},
      {R"({"scaling": {"max_held_requests": "many"}})", "scaling.max_held_requests"},
      {R"({"scaling": {"hold_timeout_s": 0}})", "scaling.hold_timeout_s"},
      {R"({"scaling": {"reclaim_after_idle_s": -1}})", "scaling.reclaim_after_idle_s"},
      {R"({"copies": {"min": 0, "initial": 1}, "scaling": {"max_held_requests": 0}})", "scaling.max_held_requests"},
      {R"({"scaling": {"cooldown": 5}})", "scaling.cooldown"},
      {R"({"scaling": {"target": null, "steps": {"lower": 1}}})", "scaling.steps"},
      {R"({"scaling": {"target": null, "steps": [{"lower": 1}]}})", "scaling.steps[0].adjustment"},
      {R"({"scaling": {"target": null, "steps": [{"lower": 2, "upper": 1, "adjustment": 1}]}})",
       "scaling.steps[0].upper"},
      {R"({"scaling": {"target": null, "steps": [{"lower": 0, "adjustment": 0}]}})",
       "scaling.steps[0].adjustment"},
      {R"({"scaling": {"target": null, "steps": [{"lower": 0, "upper": 3, "adjustment": -1},
                                                  {"lower": 2, "adjustment": 1}]}})", "scaling.steps"},
      {R"({"scaling": {"steps": [{"lower": 0, "adjustment": 1}]}})", "scaling.steps"},
      {R"({"priority": 101})", "priority"},
      {R"({"priority": "high"})", "priority"},
      {R"({"placement": "random"})", "placement"},
      {R"({"model": {"uri": ""}})", "model.uri"},
      {R"({"model": "x.gguf"})", "model"},
  };
  for (const Bad& bad : cases) {
    SCOPED_TRACE(bad.patch);
    json body = Example();
    body.merge_patch(json::parse(bad.patch));
    auto c = ParseInferenceComponent(body);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(c.status().field(), bad.field) << c.status().ToString();
  }
}

TEST(ComponentTest, UpdateAppliesOnlyPresentFields) {
  auto c = ParseInferenceComponent(Example());
  ASSERT_TRUE(c.ok());
  auto u = UpdateInferenceComponent(*c, json::parse(R"({"copies": {"initial": 3}, "priority": 90})"));
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->copies.initial, 3);
  EXPECT_EQ(u->copies.max, 4);
  EXPECT_EQ(u->priority, 90);
  EXPECT_EQ(u->startup.parallel, 8);
  auto renamed = UpdateInferenceComponent(*c, json::parse(R"({"name": "other"})"));
  EXPECT_EQ(renamed.status().field(), "name");
  auto bounds = UpdateInferenceComponent(*c, json::parse(R"({"copies": {"max": 0}})"));
  EXPECT_FALSE(bounds.ok());
}

TEST(ComponentTest, ScalingFieldsParseAndRoundTrip) {
  json body = Example();
  body["scaling"] = json::parse(R"({"metric": "queue_depth", "stabilization_window_s": 5,
      "max_held_requests": 3, "hold_timeout_s": 9, "reclaim_after_idle_s": 4,
      "steps": [{"lower": 4, "adjustment": 2}, {"lower": 0, "upper": 1, "adjustment": -1}]})");
  auto c = ParseInferenceComponent(body);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->scaling.metric, ScalingMetric::kQueueDepth);
  EXPECT_EQ(c->scaling.stabilization_window_s, 5);
  EXPECT_EQ(c->scaling.max_held_requests, 3);
  EXPECT_EQ(c->scaling.hold_timeout_s, 9);
  EXPECT_EQ(c->scaling.reclaim_after_idle_s, 4);
  ASSERT_EQ(c->scaling.steps.size(), 2u);  // sorted by lower bound
  EXPECT_EQ(c->scaling.steps[0], (ScalingStep{0, 1, -1}));
  EXPECT_EQ(c->scaling.steps[1].adjustment, 2);
  EXPECT_TRUE(std::isinf(c->scaling.steps[1].upper));
  json out = ToJson(*c);
  EXPECT_FALSE(out["scaling"].contains("target"));
  EXPECT_FALSE(out["scaling"]["steps"][1].contains("upper"));
  auto again = ParseInferenceComponent(out);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ToJson(*again), out);
  // An update back to target tracking drops the steps.
  auto u = UpdateInferenceComponent(*c, json::parse(R"({"scaling": {"target": 2}})"));
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_FALSE(u->scaling.step_scaling());
  EXPECT_EQ(u->scaling.stabilization_window_s, 5);
}

TEST(ComponentTest, Endpoints) {
  auto e = ParseEndpoint(json::parse(R"({"name": "main", "kind": "dedicated"})"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, EndpointKind::kDedicated);
  EXPECT_EQ(ToJson(*e)["routing"], "least_outstanding");
  EXPECT_EQ(ParseEndpoint(json::parse(R"({"name": "main", "kind": "private"})")).status().field(), "kind");
  EXPECT_EQ(ParseEndpoint(json::parse(R"({"name": "Main"})")).status().field(), "name");
  EXPECT_EQ(ParseEndpoint(json::parse(R"({"name": "m", "extra": 1})")).status().field(), "extra");
}

}  // namespace
}  // namespace cohost
