#include "core/component.h"

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
  RETURN_IF_ERROR(OnlyKnownFields(s, "startup", {"context_length", "parallel"}));
  RETURN_IF_ERROR(ReadInt(s, "startup", "context_length", 16, 1 << 20, &p->context_length));
  RETURN_IF_ERROR(ReadInt(s, "startup", "parallel", 1, 256, &p->parallel));
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

Status ApplyScaling(const json& s, ScalingPolicy* p) {
  RETURN_IF_ERROR(RequireObject(s, "scaling"));
  RETURN_IF_ERROR(OnlyKnownFields(s, "scaling", {"metric", "target", "scale_out_cooldown_s",
                                                  "scale_in_cooldown_s", "scale_to_zero_after_s"}));
  std::string metric = ScalingMetricName(p->metric);
  RETURN_IF_ERROR(ReadString(s, "scaling", "metric", &metric));
  ASSIGN_OR_RETURN(p->metric, ParseMetric(metric));
  RETURN_IF_ERROR(ReadNumber(s, "scaling", "target", 0.001, 1e9, &p->target));
  RETURN_IF_ERROR(ReadInt(s, "scaling", "scale_out_cooldown_s", 0, 86400, &p->scale_out_cooldown_s));
  RETURN_IF_ERROR(ReadInt(s, "scaling", "scale_in_cooldown_s", 0, 86400, &p->scale_in_cooldown_s));
  RETURN_IF_ERROR(ReadInt(s, "scaling", "scale_to_zero_after_s", 0, 7 * 86400, &p->scale_to_zero_after_s));
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
  return ValidateCopies(c->copies);
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

json ToJson(const InferenceComponent& c) {
  return {{"name", c.name},
          {"endpoint", c.endpoint},
          {"model", {{"uri", c.model_uri}}},
          {"compute", {{"accelerators", c.compute.accelerators},
                       {"memory_mb", c.compute.memory_mib},
                       {"cpu_cores", c.compute.cpu_cores}}},
          {"startup", {{"context_length", c.startup.context_length}, {"parallel", c.startup.parallel}}},
          {"copies", {{"initial", c.copies.initial}, {"min", c.copies.min}, {"max", c.copies.max}}},
          {"scaling", {{"metric", ScalingMetricName(c.scaling.metric)},
                       {"target", c.scaling.target},
                       {"scale_out_cooldown_s", c.scaling.scale_out_cooldown_s},
                       {"scale_in_cooldown_s", c.scaling.scale_in_cooldown_s},
                       {"scale_to_zero_after_s", c.scaling.scale_to_zero_after_s}}},
          {"priority", c.priority},
          {"placement", PlacementStrategyName(c.placement)}};
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
