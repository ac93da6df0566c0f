#include "core/component.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>

namespace cohost {
namespace {

using json = nlohmann::json;

std::string Join(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
}

// Refuses keys of `obj` not in `allowed`.
Status OnlyKnownFields(const json& obj, std::string_view prefix,
                       std::initializer_list<std::string_view> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = false;
    for (std::string_view a : allowed) known = known || it.key() == a;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return InvalidArgument(Join(prefix, it.key()), "unknown field; allowed here: " + list);
    }
  }
  return Status::Ok();
}

Status RequireObject(const json& v, const std::string& field) {
  if (!v.is_object()) return InvalidArgument(field, "expected an object");
  return Status::Ok();
}

Status ReadString(const json& obj, std::string_view prefix, const char* key, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if (!it->is_string()) return InvalidArgument(Join(prefix, key), "expected a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status ReadInt(const json& obj, std::string_view prefix, const char* key, int64_t lo, int64_t hi,
               int* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if (!it->is_number_integer() && !it->is_number_unsigned())
    return InvalidArgument(Join(prefix, key), "expected an integer");
  int64_t v = it->is_number_unsigned() && it->get<uint64_t>() > INT64_MAX ? INT64_MAX : it->get<int64_t>();
  if (v < lo || v > hi) {
    return InvalidArgument(Join(prefix, key), "must be between " + std::to_string(lo) + " and " +
                                                  std::to_string(hi) + ", got " + it->dump());
  }
  *out = static_cast<int>(v);
  return Status::Ok();
}

Status ReadNumber(const json& obj, std::string_view prefix, const char* key, double lo, double hi,
                  double* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if (!it->is_number()) return InvalidArgument(Join(prefix, key), "expected a number");
  double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    return InvalidArgument(Join(prefix, key), "must be between " + json(lo).dump() + " and " +
                                                  json(hi).dump() + ", got " + it->dump());
  }
  *out = v;
  return Status::Ok();
}

Status ApplyCompute(const json& c, Requirements* r) {
  RETURN_IF_ERROR(RequireObject(c, "compute"));
  RETURN_IF_ERROR(OnlyKnownFields(c, "compute", {"accelerators", "memory_mb", "cpu_cores"}));
  RETURN_IF_ERROR(ReadNumber(c, "compute", "accelerators", 0, kMaxAccelerators, &r->accelerators));
  if (auto it = c.find("memory_mb"); it != c.end()) {
    if (!it->is_number_integer() && !it->is_number_unsigned())
      return InvalidArgument("compute.memory_mb", "expected an integer number of MiB");
    if (it->is_number_integer() && it->get<int64_t>() < 0)
      return InvalidArgument("compute.memory_mb", "must not be negative, got " + it->dump());
    r->memory_mib = it->get<int64_t>();
  }
  RETURN_IF_ERROR(ReadNumber(c, "compute", "cpu_cores", 0, kMaxCpuCores, &r->cpu_cores));
  return r->Validate("compute");
}

Status ApplyStartup(const json& s, StartupParams* p) {
  RETURN_IF_ERROR(RequireObject(s, "startup"));
  RETURN_IF_ERROR(OnlyKnownFields(s, "startup", {"context_length", "parallel", "load_mode"}));
  RETURN_IF_ERROR(ReadInt(s, "startup", "context_length", 16, 1 << 20, &p->context_length));
  RETURN_IF_ERROR(ReadInt(s, "startup", "parallel", 1, 256, &p->parallel));
  RETURN_IF_ERROR(ReadString(s, "startup", "load_mode", &p->load_mode));
  if (p->load_mode != "auto" && p->load_mode != "mmap" && p->load_mode != "read" && p->load_mode != "stream") {
    return InvalidArgument("startup.load_mode", "must be one of auto, mmap, read, stream; got '" + p->load_mode + "'");
  }
  return Status::Ok();
}

Status ApplyCopies(const json& c, CopyBounds* b) {
  RETURN_IF_ERROR(RequireObject(c, "copies"));
  RETURN_IF_ERROR(OnlyKnownFields(c, "copies", {"initial", "min", "max"}));
  RETURN_IF_ERROR(ReadInt(c, "copies", "initial", 0, 10000, &b->initial));
  RETURN_IF_ERROR(ReadInt(c, "copies", "min", 0, 10000, &b->min));
  RETURN_IF_ERROR(ReadInt(c, "copies", "max", 1, 10000, &b->max));
  return Status::Ok();
}

Status ValidateCopies(const CopyBounds& b) {
  if (b.min > b.max)
    return InvalidArgument("copies.min", "must not exceed copies.max (" + std::to_string(b.max) + ")");
  if (b.initial < b.min || b.initial > b.max) {
    return InvalidArgument("copies.initial", "must be between copies.min (" + std::to_string(b.min) +
                                                 ") and copies.max (" + std::to_string(b.max) + ")");
  }
  return Status::Ok();
}

StatusOr<ScalingMetric> ParseMetric(const std::string& s) {
  if (s == "concurrent_requests_per_copy") return ScalingMetric::kConcurrentRequestsPerCopy;
  if (s == "invocations_per_copy_per_minute") return ScalingMetric::kInvocationsPerCopyPerMinute;
  if (s == "queue_depth") return ScalingMetric::kQueueDepth;
  return InvalidArgument("scaling.metric",
                         "must be concurrent_requests_per_copy, invocations_per_copy_per_minute "
                         "or queue_depth; got \"" + s + "\"");
}

Status ApplyStep(const json& st, const std::string& prefix, ScalingStep* step) {
  RETURN_IF_ERROR(RequireObject(st, prefix));
  RETURN_IF_ERROR(OnlyKnownFields(st, prefix, {"lower", "upper", "adjustment"}));
  if (!st.contains("adjustment")) return InvalidArgument(prefix + ".adjustment", "is required");
  RETURN_IF_ERROR(ReadNumber(st, prefix, "lower", 0, 1e12, &step->lower));
  RETURN_IF_ERROR(ReadNumber(st, prefix, "upper", 0, 1e12, &step->upper));
  RETURN_IF_ERROR(ReadInt(st, prefix, "adjustment", -10000, 10000, &step->adjustment));
  if (step->adjustment == 0) return InvalidArgument(prefix + ".adjustment", "must not be 0");
  if (step->upper <= step->lower) {
    return InvalidArgument(prefix + ".upper", "must be above lower (" + json(step->lower).dump() +
                                                  "), got " + json(step->upper).dump());
  }
  return Status::Ok();
}

// Steps: a JSON array of {lower, upper, adjustment}, in any order, not overlapping.
Status ApplySteps(const json& arr, std::vector<ScalingStep>* steps) {
  if (!arr.is_array()) return InvalidArgument("scaling.steps", "expected an array of steps");
  if (arr.size() > 32) return InvalidArgument("scaling.steps", "at most 32 steps");
  std::vector<ScalingStep> out(arr.size());
  for (size_t i = 0; i < arr.size(); ++i)
    RETURN_IF_ERROR(ApplyStep(arr[i], "scaling.steps[" + std::to_string(i) + "]", &out[i]));
  std::vector<ScalingStep> sorted = out;
  std::sort(sorted.begin(), sorted.end(),
            [](const ScalingStep& a, const ScalingStep& b) { return a.lower < b.lower; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].lower < sorted[i - 1].upper) {
      return InvalidArgument("scaling.steps", "steps overlap: [" + json(sorted[i - 1].lower).dump() +
                                                  ", " + json(sorted[i - 1].upper).dump() +
                                                  ") and [" + json(sorted[i].lower).dump() + ", " +
                                                  json(sorted[i].upper).dump() + ")");
    }
  }
  *steps = std::move(sorted);
  return Status::Ok();
}

Status ApplyScaling(const json& s, ScalingPolicy* p) {
  RETURN_IF_ERROR(RequireObject(s, "scaling"));
  RETURN_IF_ERROR(OnlyKnownFields(
      s, "scaling", {"metric", "target", "steps", "scale_out_cooldown_s", "scale_in_cooldown_s",
                     "stabilization_window_s", "scale_to_zero_after_s", "max_held_requests",
                     "hold_timeout_s", "reclaim_after_idle_s"}));
  if (s.contains("target") && s.contains("steps") && !s["steps"].empty())
    return InvalidArgument("scaling.steps", "give either target (target tracking) or steps, not both");
  std::string metric = ScalingMetricName(p->metric);
  RETURN_IF_ERROR(ReadString(s, "scaling", "metric", &metric));
  ASSIGN_OR_RETURN(p->metric, ParseMetric(metric));
  RETURN_IF_ERROR(ReadNumber(s, "scaling", "target", 0.001, 1e9, &p->target));
  if (s.contains("target")) p->steps.clear();  // switching to target tracking
  if (auto it = s.find("steps"); it != s.end()) RETURN_IF_ERROR(ApplySteps(*it, &p->steps));
  RETURN_IF_ERROR(ReadInt(s, "scaling", "scale_out_cooldown_s", 0, 86400, &p->scale_out_cooldown_s));
  RETURN_IF_ERROR(ReadInt(s, "scaling", "scale_in_cooldown_s", 0, 86400, &p->scale_in_cooldown_s));
  RETURN_IF_ERROR(ReadInt(s, "scaling", "stabilization_window_s", 0, 86400, &p->stabilization_window_s));
  RETURN_IF_ERROR(ReadInt(s, "scaling", "scale_to_zero_after_s", 0, 7 * 86400, &p->scale_to_zero_after_s));
  RETURN_IF_ERROR(ReadInt(s, "scaling", "max_held_requests", 0, 100000, &p->max_held_requests));
  RETURN_IF_ERROR(ReadInt(s, "scaling", "hold_timeout_s", 1, 3600, &p->hold_timeout_s));
  RETURN_IF_ERROR(
      ReadInt(s, "scaling", "reclaim_after_idle_s", 0, 86400, &p->reclaim_after_idle_s));
  return Status::Ok();
}

Status ApplyModel(const json& m, std::string* uri) {
  RETURN_IF_ERROR(RequireObject(m, "model"));
  RETURN_IF_ERROR(OnlyKnownFields(m, "model", {"uri"}));
  RETURN_IF_ERROR(ReadString(m, "model", "uri", uri));
  if (uri->empty()) return InvalidArgument("model.uri", "is required");
  return Status::Ok();
}

// Applies every field present in `body` onto `c`.
Status ApplyComponentFields(const json& body, InferenceComponent* c) {
  RETURN_IF_ERROR(OnlyKnownFields(body, "", {"name", "endpoint", "model", "compute", "startup",
                                             "copies", "scaling", "priority", "placement"}));
  if (auto it = body.find("model"); it != body.end()) RETURN_IF_ERROR(ApplyModel(*it, &c->model_uri));
  if (auto it = body.find("compute"); it != body.end()) RETURN_IF_ERROR(ApplyCompute(*it, &c->compute));
  if (auto it = body.find("startup"); it != body.end()) RETURN_IF_ERROR(ApplyStartup(*it, &c->startup));
  if (auto it = body.find("copies"); it != body.end()) RETURN_IF_ERROR(ApplyCopies(*it, &c->copies));
  if (auto it = body.find("scaling"); it != body.end()) RETURN_IF_ERROR(ApplyScaling(*it, &c->scaling));
  RETURN_IF_ERROR(ReadInt(body, "", "priority", 0, 100, &c->priority));
  std::string placement = PlacementStrategyName(c->placement);
  RETURN_IF_ERROR(ReadString(body, "", "placement", &placement));
  ASSIGN_OR_RETURN(c->placement, ParsePlacementStrategy(placement, "placement"));
  RETURN_IF_ERROR(ValidateCopies(c->copies));
  // A component that may go to zero comes back only through a held request.
  if (c->copies.min == 0 && c->scaling.max_held_requests == 0) {
    return InvalidArgument("scaling.max_held_requests",
                           "must be at least 1 when copies.min is 0: a request held at zero copies is "
                           "what starts a copy again");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateName(std::string_view name, std::string_view field) {
  std::string f(field);
  if (name.empty()) return InvalidArgument(f, "is required");
  if (name.size() > 63) return InvalidArgument(f, "must be at most 63 characters");
  if (!(name[0] >= 'a' && name[0] <= 'z'))
    return InvalidArgument(f, "must start with a lowercase letter (DNS-like: a-z, 0-9, '-'), got \"" + std::string(name) + "\"");
  for (char ch : name) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
      return InvalidArgument(f, "may hold only a-z, 0-9 and '-', got \"" + std::string(name) + "\"");
  }
  if (name.back() == '-') return InvalidArgument(f, "must not end with '-'");
  return Status::Ok();
}

StatusOr<Endpoint> ParseEndpoint(const json& body) {
  if (!body.is_object()) return InvalidArgument("body", "expected a JSON object");
  RETURN_IF_ERROR(OnlyKnownFields(body, "", {"name", "kind", "routing"}));
  Endpoint e;
  RETURN_IF_ERROR(ReadString(body, "", "name", &e.name));
  RETURN_IF_ERROR(ValidateName(e.name));
  std::string kind = "shared", routing = "least_outstanding";
  RETURN_IF_ERROR(ReadString(body, "", "kind", &kind));
  RETURN_IF_ERROR(ReadString(body, "", "routing", &routing));
  if (kind == "shared") e.kind = EndpointKind::kShared;
  else if (kind == "dedicated") e.kind = EndpointKind::kDedicated;
  else return InvalidArgument("kind", "must be \"shared\" or \"dedicated\", got \"" + kind + "\"");
  if (routing == "least_outstanding") e.routing = RoutingStrategy::kLeastOutstanding;
  else if (routing == "random") e.routing = RoutingStrategy::kRandom;
  else return InvalidArgument("routing", "must be \"least_outstanding\" or \"random\", got \"" + routing + "\"");
  return e;
}

StatusOr<InferenceComponent> ParseInferenceComponent(const json& body) {
  if (!body.is_object()) return InvalidArgument("body", "expected a JSON object");
  InferenceComponent c;
  RETURN_IF_ERROR(ReadString(body, "", "name", &c.name));
  RETURN_IF_ERROR(ValidateName(c.name));
  RETURN_IF_ERROR(ReadString(body, "", "endpoint", &c.endpoint));
  RETURN_IF_ERROR(ValidateName(c.endpoint, "endpoint"));
  if (!body.contains("model")) return InvalidArgument("model.uri", "is required");
  RETURN_IF_ERROR(ApplyComponentFields(body, &c));
  return c;
}

StatusOr<InferenceComponent> UpdateInferenceComponent(const InferenceComponent& current,
                                                      const json& patch) {
  if (!patch.is_object()) return InvalidArgument("body", "expected a JSON object");
  if (auto it = patch.find("name"); it != patch.end() && *it != current.name)
    return InvalidArgument("name", "cannot be changed; create a new component instead");
  if (auto it = patch.find("endpoint"); it != patch.end() && *it != current.endpoint)
    return InvalidArgument("endpoint", "cannot be changed; create a new component instead");
  InferenceComponent c = current;
  RETURN_IF_ERROR(ApplyComponentFields(patch, &c));
  return c;
}

json ToJson(const Endpoint& e) {
  return {{"name", e.name}, {"kind", EndpointKindName(e.kind)}, {"routing", RoutingStrategyName(e.routing)}};
}

static json StepsToJson(const std::vector<ScalingStep>& steps) {
  json out = json::array();
  for (const ScalingStep& st : steps) {
    json j = {{"lower", st.lower}, {"adjustment", st.adjustment}};
    if (std::isfinite(st.upper)) j["upper"] = st.upper;  // omitted: no upper bound
    out.push_back(std::move(j));
  }
  return out;
}

json ToJson(const InferenceComponent& c) {
  json j = {{"name", c.name},
          {"endpoint", c.endpoint},
          {"model", {{"uri", c.model_uri}}},
          {"compute", {{"accelerators", c.compute.accelerators},
                       {"memory_mb", c.compute.memory_mib},
                       {"cpu_cores", c.compute.cpu_cores}}},
          {"startup", {{"context_length", c.startup.context_length}, {"parallel", c.startup.parallel},
                       {"load_mode", c.startup.load_mode}}},
          {"copies", {{"initial", c.copies.initial}, {"min", c.copies.min}, {"max", c.copies.max}}},
          {"scaling", {{"metric", ScalingMetricName(c.scaling.metric)},
                       {"target", c.scaling.target},
                       {"scale_out_cooldown_s", c.scaling.scale_out_cooldown_s},
                       {"scale_in_cooldown_s", c.scaling.scale_in_cooldown_s},
                       {"steps", StepsToJson(c.scaling.steps)},
                       {"stabilization_window_s", c.scaling.stabilization_window_s},
                       {"scale_to_zero_after_s", c.scaling.scale_to_zero_after_s},
                       {"max_held_requests", c.scaling.max_held_requests},
                       {"hold_timeout_s", c.scaling.hold_timeout_s},
                       {"reclaim_after_idle_s", c.scaling.reclaim_after_idle_s}}},
          {"priority", c.priority},
          {"placement", PlacementStrategyName(c.placement)}};
  // Step scaling has no target: leave it out so the form parses back as it was.
  if (c.scaling.step_scaling()) j["scaling"].erase("target");
  return j;
}

const char* EndpointKindName(EndpointKind kind) {
  return kind == EndpointKind::kShared ? "shared" : "dedicated";
}
const char* RoutingStrategyName(RoutingStrategy routing) {
  return routing == RoutingStrategy::kLeastOutstanding ? "least_outstanding" : "random";
}
const char* ScalingMetricName(ScalingMetric metric) {
  switch (metric) {
    case ScalingMetric::kConcurrentRequestsPerCopy: return "concurrent_requests_per_copy";
    case ScalingMetric::kInvocationsPerCopyPerMinute: return "invocations_per_copy_per_minute";
    case ScalingMetric::kQueueDepth: return "queue_depth";
  }
  return "concurrent_requests_per_copy";
}

}  // namespace cohost
