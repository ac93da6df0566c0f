#include "control/control_api.h"

#include <charconv>

#include "api/json_body.h"
#include "core/log.h"

namespace cohost::control {
namespace {

using json = nlohmann::json;
using net::http::status;
using store::ObjectKind;

constexpr std::string_view kEndpoints = "/v1/endpoints";
constexpr std::string_view kComponents = "/v1/inference-components";
constexpr std::string_view kEvents = "/v1/events";
constexpr std::string_view kDevices = "/v1/devices";

// Every body is a JSON object; errors name the field (api::ParseJsonObject).
StatusOr<json> ParseBody(const std::string& body) { return api::ParseJsonObject(body); }

// "/v1/endpoints/main" under prefix "/v1/endpoints" -> "main"; "" for the collection itself.
std::string Tail(std::string_view path, std::string_view prefix) {
  if (path.size() <= prefix.size() + 1) return {};
  return std::string(path.substr(prefix.size() + 1));
}

bool Under(std::string_view path, std::string_view prefix) {
  return path == prefix || (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix &&
                            path[prefix.size()] == '/');
}

std::string QueryParam(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

StatusOr<int64_t> QueryInt(std::string_view query, std::string_view key, int64_t fallback) {
  std::string v = QueryParam(query, key);
  if (v.empty()) return fallback;
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || ptr != v.data() + v.size() || out < 0)
    return InvalidArgument(std::string(key), "must be a non-negative integer, got \"" + v + "\"");
  return out;
}

json WithRevision(json spec, const store::Object& o) {
  spec["revision"] = o.revision;
  return spec;
}

// The "revision" a PATCH names (optimistic concurrency), or `current` when it names none.
StatusOr<int64_t> ExpectedRevision(const json& patch, int64_t current) {
  auto it = patch.find("revision");
  if (it == patch.end() || it->is_null()) return current;
  if (!it->is_number_integer() || it->get<int64_t>() < 0)
    return InvalidArgument("revision", "expected a non-negative integer (the revision you read), got " + it->dump());
  return it->get<int64_t>();
}

// The methods a control API path answers, for the Allow header of a 405.
std::string AllowedMethods(std::string_view path) {
  if (path == kEndpoints) return "GET, POST";
  if (Under(path, kEndpoints)) return "GET, DELETE";
  if (path == kComponents) return "GET, POST";
  if (Under(path, kComponents)) return "GET, PATCH, DELETE";
  return "GET";
}

Status MethodNotAllowed(net::http::verb method, std::string_view path) {
  return Status(StatusCode::kUnimplemented,
                std::string(net::http::to_string(method)) + " is not allowed on " + std::string(path),
                "method");
}

}  // namespace

ControlApi::ControlApi(store::StateStore& store, ControlHooks hooks)
    : store_(store), hooks_(std::move(hooks)) {}

bool ControlApi::Owns(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  return Under(path, kEndpoints) || Under(path, kComponents) || path == kEvents || path == kDevices;
}

net::asio::awaitable<void> ControlApi::Handle(net::Exchange& ex) {
  std::string_view target = ex.request().target();
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  StatusOr<Reply> reply = Route(ex.request().method(), path, query, ex.request().body());
  if (!reply.ok()) {
    Status st = reply.status();
    if (st.field() == "method" && st.code() == StatusCode::kUnimplemented) {
      const net::Headers allow(1, {"Allow", AllowedMethods(path)});
      co_return co_await ex.RespondError(status::method_not_allowed, st, allow);
    }
    co_return co_await ex.RespondError(net::HttpStatusFor(st), st);
  }
  co_await ex.Respond(reply->status, reply->body.dump(-1, ' ', false, json::error_handler_t::replace));
}

StatusOr<ControlApi::Reply> ControlApi::Route(net::http::verb method, std::string_view path,
                                              std::string_view query, const std::string& body) {
  using net::http::verb;
  if (Under(path, kEndpoints)) {
    std::string name = Tail(path, kEndpoints);
    if (name.empty() && method == verb::post) return CreateEndpoint(body);
    if (name.empty() && method == verb::get) {
      ASSIGN_OR_RETURN(store::ObjectList list, store_.List(ObjectKind::kEndpoint));
      json items = json::array();
      for (const auto& o : list.objects) items.push_back(WithRevision(o.spec, o));
      return Reply{status::ok, {{"endpoints", items}}};
    }
    if (!name.empty() && method == verb::get) {
      ASSIGN_OR_RETURN(store::Object o, store_.Get(ObjectKind::kEndpoint, name));
      return Reply{status::ok, WithRevision(o.spec, o)};
    }
    if (!name.empty() && method == verb::delete_) return DeleteEndpoint(name);
    return MethodNotAllowed(method, path);
  }
  if (Under(path, kComponents)) {
    std::string name = Tail(path, kComponents);
    if (name.empty() && method == verb::post) return CreateComponent(body);
    if (name.empty() && method == verb::get) return ListComponentsReply();
    if (!name.empty() && method == verb::get) return DescribeComponent(name);
    if (!name.empty() && method == verb::patch) return UpdateComponent(name, body);
    if (!name.empty() && method == verb::delete_) return DeleteComponent(name);
    return MethodNotAllowed(method, path);
  }
  if (path == kEvents && method == verb::get) return ListEvents(query);
  if (path == kDevices && method == verb::get)
    return Reply{status::ok, hooks_.devices ? hooks_.devices() : json{{"devices", json::array()}}};
  return MethodNotAllowed(method, path);
}

void ControlApi::Record(std::string_view kind, const std::string& name, std::string_view reason,
                        const std::string& message) {
  store::Event e;
  e.time_ms = hooks_.now_ms();
  e.subject_kind = kind;
  e.subject_name = name;
  e.reason = reason;
  e.message = message;
  if (hooks_.append_event) {
    hooks_.append_event(std::move(e));
  } else if (auto seq = store_.AppendEvent(e); !seq.ok()) {
    log::Warn("cannot record event", {{"error", seq.status().ToString()}});
  }
  if (hooks_.on_change) hooks_.on_change();
}

StatusOr<ControlApi::Reply> ControlApi::CreateEndpoint(const std::string& body) {
  ASSIGN_OR_RETURN(json j, ParseBody(body));
  ASSIGN_OR_RETURN(Endpoint e, ParseEndpoint(j));
  ASSIGN_OR_RETURN(store::Object o, store_.Create(ObjectKind::kEndpoint, e.name, ToJson(e)));
  Record("endpoint", e.name, "Created", std::string("endpoint created (") + EndpointKindName(e.kind) + ")");
  return Reply{status::created, WithRevision(o.spec, o)};
}

StatusOr<ControlApi::Reply> ControlApi::DeleteEndpoint(const std::string& name) {
  ASSIGN_OR_RETURN(store::ObjectList comps, store_.List(ObjectKind::kInferenceComponent));
  for (const auto& o : comps.objects) {
    if (o.spec.value("endpoint", "") == name) {
      return Status(StatusCode::kFailedPrecondition,
                    "endpoint '" + name + "' still has inference component '" + o.name +
                        "'; delete its components first",
                    "name");
    }
  }
  auto opts = store::WriteOptions::If(
      {store::Precondition::NoneChangedSince(ObjectKind::kInferenceComponent, comps.revision, "name")});
  ASSIGN_OR_RETURN(int64_t rev, store_.Delete(ObjectKind::kEndpoint, name, opts));
  Record("endpoint", name, "Deleted", "endpoint deleted");
  return Reply{status::ok, {{"name", name}, {"deleted", true}, {"revision", rev}}};
}

Status ControlApi::CheckMemory(InferenceComponent* c) {
  if (!hooks_.measure_memory_mib) return Status::Ok();
  StatusOr<int64_t> need = hooks_.measure_memory_mib(*c);
  if (!need.ok()) {
    // A missing, unreadable or malformed model is the spec's fault (400 naming model.uri); a
    // spec the limits refuse names its own field (startup.*); a dry run that failed on its own
    // keeps its code (503 past its limits).
    Status st = need.status();
    const bool bad_model = st.code() == StatusCode::kNotFound || st.code() == StatusCode::kDataLoss ||
                           st.code() == StatusCode::kInvalidArgument;
    const bool spec_field = st.field().rfind("startup.", 0) == 0 || st.field().rfind("compute.", 0) == 0;
    return Status(bad_model ? StatusCode::kInvalidArgument : st.code(),
                  spec_field ? st.message() : "cannot use the model: " + st.message(),
                  spec_field ? st.field() : "model.uri");
  }
  if (c->compute.memory_mib == 0) {
    c->compute.memory_mib = *need;
  } else if (c->compute.memory_mib < *need) {
    return InvalidArgument("compute.memory_mb",
                           "reservation of " + std::to_string(c->compute.memory_mib) +
                               " MiB is below the measured need of " + std::to_string(*need) +
                               " MiB (weights + KV cache for " +
                               std::to_string(c->startup.context_length) + " tokens x " +
                               std::to_string(c->startup.parallel) + " slots + compute buffers)");
  }
  return Status::Ok();
}

StatusOr<ControlApi::Reply> ControlApi::CreateComponent(const std::string& body) {
  ASSIGN_OR_RETURN(json j, ParseBody(body));
  ASSIGN_OR_RETURN(InferenceComponent c, ParseInferenceComponent(j));
  if (!store_.Get(ObjectKind::kEndpoint, c.endpoint).ok())
    return InvalidArgument("endpoint", "no endpoint named '" + c.endpoint + "'; create it first");
  RETURN_IF_ERROR(CheckMemory(&c));
  auto opts = store::WriteOptions::If({store::Precondition::Exists(ObjectKind::kEndpoint, c.endpoint, "endpoint")});
  ASSIGN_OR_RETURN(store::Object o, store_.Create(ObjectKind::kInferenceComponent, c.name, ToJson(c), opts));
  Record("inference_component", c.name, "Created",
         "created with " + std::to_string(c.copies.initial) + " copies of " +
             std::to_string(c.compute.memory_mib) + " MiB");
  return Reply{status::created, WithRevision(o.spec, o)};
}

StatusOr<ControlApi::Reply> ControlApi::UpdateComponent(const std::string& name, const std::string& body) {
  ASSIGN_OR_RETURN(json patch, ParseBody(body));
  ASSIGN_OR_RETURN(store::Object current, store_.Get(ObjectKind::kInferenceComponent, name));
  ASSIGN_OR_RETURN(int64_t expected, ExpectedRevision(patch, current.revision));
  ASSIGN_OR_RETURN(InferenceComponent old, ParseInferenceComponent(current.spec));
  json changes = patch;
  changes.erase("revision");
  ASSIGN_OR_RETURN(InferenceComponent c, UpdateInferenceComponent(old, changes));
  const bool needs_remeasure = c.model_uri != old.model_uri ||
                               c.startup.context_length != old.startup.context_length ||
                               c.startup.parallel != old.startup.parallel;
  if (needs_remeasure) {
    const bool memory_declared = patch.contains("compute") && patch["compute"].contains("memory_mb");
    if (!memory_declared) c.compute.memory_mib = 0;  // re-measure for the new model or shape
    RETURN_IF_ERROR(CheckMemory(&c));
  }
  ASSIGN_OR_RETURN(store::Object o, store_.Update(ObjectKind::kInferenceComponent, name, ToJson(c),
                                                  store::WriteOptions::AtRevision(expected)));
  if (hooks_.on_copies_set && patch.contains("copies") && patch["copies"].is_object() &&
      patch["copies"].contains("initial")) {
    hooks_.on_copies_set(name, c.copies.initial);
  }
  Record("inference_component", name, "Updated", "spec updated: " + changes.dump());
  return Reply{status::ok, WithComponentStatus(name, WithRevision(o.spec, o))};
}

StatusOr<ControlApi::Reply> ControlApi::DeleteComponent(const std::string& name) {
  ASSIGN_OR_RETURN(int64_t rev, store_.Delete(ObjectKind::kInferenceComponent, name));
  if (hooks_.on_component_deleted) hooks_.on_component_deleted(name);
  Record("inference_component", name, "Deleted", "deleted; its copies drain");
  return Reply{status::ok, {{"name", name}, {"deleted", true}, {"revision", rev}}};
}

json ControlApi::WithComponentStatus(const std::string& name, json spec) const {
  spec["status"] = hooks_.component_status ? hooks_.component_status(name) : json::object();
  return spec;
}

StatusOr<ControlApi::Reply> ControlApi::DescribeComponent(const std::string& name) {
  ASSIGN_OR_RETURN(store::Object o, store_.Get(ObjectKind::kInferenceComponent, name));
  return Reply{status::ok, WithComponentStatus(name, WithRevision(o.spec, o))};
}

StatusOr<ControlApi::Reply> ControlApi::ListComponentsReply() {
  ASSIGN_OR_RETURN(store::ObjectList list, store_.List(ObjectKind::kInferenceComponent));
  json items = json::array();
  for (const auto& o : list.objects) {
    json item = WithRevision(o.spec, o);
    item["status"] = hooks_.component_status ? hooks_.component_status(o.name) : json::object();
    items.push_back(std::move(item));
  }
  return Reply{status::ok, {{"inference_components", items}}};
}

StatusOr<std::vector<InferenceComponent>> ControlApi::ListComponents() {
  ASSIGN_OR_RETURN(store::ObjectList list, store_.List(ObjectKind::kInferenceComponent));
  std::vector<InferenceComponent> out;
  for (const auto& o : list.objects) {
    ASSIGN_OR_RETURN(InferenceComponent c, ParseInferenceComponent(o.spec));
    out.push_back(std::move(c));
  }
  return out;
}

StatusOr<ControlApi::Reply> ControlApi::ListEvents(std::string_view query) {
  store::EventQuery q;
  q.subject_name = QueryParam(query, "subject");
  q.include_copies = true;  // a component's events with its copies' (a copy has none of its own)
  ASSIGN_OR_RETURN(q.after_sequence, QueryInt(query, "after", 0));
  ASSIGN_OR_RETURN(int64_t limit, QueryInt(query, "limit", 100));
  q.limit = static_cast<int>(std::min<int64_t>(limit, 10000));
  q.newest = true;
  ASSIGN_OR_RETURN(std::vector<store::Event> events, store_.ListEvents(q));
  // Events the store refused so far come after the stored ones, with no sequence yet.
  if (hooks_.pending_events) {
    for (store::Event& e : hooks_.pending_events(q)) events.push_back(std::move(e));
    if (q.limit > 0 && events.size() > static_cast<size_t>(q.limit))
      events.erase(events.begin(), events.end() - q.limit);
  }
  json items = json::array();
  for (const auto& e : events) {
    json item = {{"sequence", e.sequence}, {"time_ms", e.time_ms}, {"kind", e.subject_kind},
                 {"name", e.subject_name}, {"reason", e.reason}, {"message", e.message}};
    if (e.sequence == 0) {
      item["sequence"] = nullptr;
      item["pending"] = true;
    }
    items.push_back(std::move(item));
  }
  return Reply{status::ok, {{"events", items}}};
}

}  // namespace cohost::control
