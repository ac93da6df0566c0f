#include "sim/scenario.h"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace cohost::sim {
namespace {

constexpr double kMibPerGb = 1024;

// Parsing context: the YAML node and its field path, so every error names both.
struct Field {
  YAML::Node node;
  std::string path;
};

Status Error(const YAML::Node& node, const std::string& path, const std::string& what) {
  int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
  std::string msg = (line > 0 ? "line " + std::to_string(line) + ": " : std::string()) + path +
                    ": " + what;
  return InvalidArgument(path, msg);
}

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

// Rejects keys outside `allowed` (typos must not be silently ignored).
Status CheckKeys(const Field& f, const std::set<std::string>& allowed) {
  if (!f.node.IsMap()) return Error(f.node, f.path, "must be a mapping");
  for (const auto& kv : f.node) {
    std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return Error(kv.first, Join(f.path, key), "unknown field; allowed: " + list);
    }
  }
  return Status::Ok();
}

// Reads an optional scalar; leaves *out untouched when the key is absent.
template <typename T>
Status Get(const Field& f, const std::string& key, T* out) {
  YAML::Node n = f.node[key];
  if (!n) return Status::Ok();
  try {
    *out = n.as<T>();
  } catch (const YAML::Exception&) {
    const char* kind = std::is_same_v<T, bool>          ? "true or false"
                       : std::is_integral_v<T>          ? "an integer"
                       : std::is_floating_point_v<T>    ? "a number"
                                                        : "a string";
    return Error(n, Join(f.path, key), std::string("must be ") + kind);
  }
  return Status::Ok();
}

Status GetNonNegative(const Field& f, const std::string& key, double* out, bool positive = false) {
  RETURN_IF_ERROR(Get(f, key, out));
  if (!std::isfinite(*out) || *out < 0 || (positive && *out == 0)) {
    return Error(f.node[key] ? f.node[key] : f.node, Join(f.path, key),
                 positive ? "must be a positive number" : "must be a number >= 0");
  }
  return Status::Ok();
}

Status GetInt(const Field& f, const std::string& key, int* out, int min_value) {
  RETURN_IF_ERROR(Get(f, key, out));
  if (*out < min_value) {
    return Error(f.node[key] ? f.node[key] : f.node, Join(f.path, key),
                 "must be an integer >= " + std::to_string(min_value));
  }
  return Status::Ok();
}

Status GetGb(const Field& f, const std::string& key, int64_t* mib, bool required) {
  if (!f.node[key]) {
    if (required) return Error(f.node, Join(f.path, key), "is required (GB)");
    return Status::Ok();
  }
  double gb = 0;
  RETURN_IF_ERROR(GetNonNegative(f, key, &gb, /*positive=*/true));
  *mib = static_cast<int64_t>(std::llround(gb * kMibPerGb));
  return Status::Ok();
}

Status ParseNodeType(const Field& f, NodeType* t) {
  RETURN_IF_ERROR(CheckKeys(f, {"name", "devices", "device_memory_gb", "cpu_cores",
                                "price_per_hour", "min_nodes", "max_nodes"}));
  RETURN_IF_ERROR(Get(f, "name", &t->name));
  if (t->name.empty()) return Error(f.node, Join(f.path, "name"), "is required");
  RETURN_IF_ERROR(GetInt(f, "devices", &t->devices, 1));
  RETURN_IF_ERROR(GetGb(f, "device_memory_gb", &t->device_memory_mib, true));
  RETURN_IF_ERROR(GetNonNegative(f, "cpu_cores", &t->cpu_cores, true));
  RETURN_IF_ERROR(GetNonNegative(f, "price_per_hour", &t->price_per_hour));
  RETURN_IF_ERROR(GetInt(f, "min_nodes", &t->min_nodes, 0));
  RETURN_IF_ERROR(GetInt(f, "max_nodes", &t->max_nodes, 1));
  if (t->min_nodes > t->max_nodes) {
    return Error(f.node["min_nodes"], Join(f.path, "min_nodes"), "must be <= max_nodes");
  }
  return Status::Ok();
}

Status ParseProfile(const Field& f, ServiceProfile* p) {
  RETURN_IF_ERROR(CheckKeys(f, {"prompt_tps", "decode_tps", "batching"}));
  RETURN_IF_ERROR(GetNonNegative(f, "prompt_tps", &p->prompt_tps, true));
  RETURN_IF_ERROR(GetNonNegative(f, "decode_tps", &p->decode_tps, true));
  YAML::Node b = f.node["batching"];
  if (!b) return Status::Ok();
  std::string path = Join(f.path, "batching");
  if (!b.IsSequence()) return Error(b, path, "must be a list of [batch, speedup] pairs");
  int last_batch = 1;
  double last_speedup = 1;
  for (size_t i = 0; i < b.size(); ++i) {
    std::string at = path + "[" + std::to_string(i) + "]";
    int batch = 0;
    double speedup = 0;
    try {
      if (!b[i].IsSequence() || b[i].size() != 2) throw YAML::Exception(b[i].Mark(), "");
      batch = b[i][0].as<int>();
      speedup = b[i][1].as<double>();
    } catch (const YAML::Exception&) {
      return Error(b[i], at, "must be a pair [batch (integer), aggregate speedup (number)]");
    }
    if (batch <= last_batch && !(batch == 1 && i == 0)) {
      return Error(b[i], at, "batch sizes must increase and be > 1");
    }
    if (!std::isfinite(speedup) || speedup < last_speedup) {
      return Error(b[i], at, "speedup must be a number that does not decrease with the batch");
    }
    last_batch = batch;
    last_speedup = speedup;
    p->batching.emplace_back(batch, speedup);
  }
  return Status::Ok();
}

// A service profile from `cohost profile --output json`: its measured sweep (measured.steps[],
// each with concurrency, decode_tokens_per_s and ttft_ms.p50) and workload.prompt_tokens. The
// lowest-concurrency step (normally 1) gives decode_tps and prompt_tps (prompt tokens over its
// TTFT p50); the others the batching curve as decode throughput relative to it.
Status ParseProfileJson(const Field& f, const std::string& base_dir, ServiceProfile* p) {
  std::string path;
  RETURN_IF_ERROR(Get(f, "profile_json", &path));
  std::string field = Join(f.path, "profile_json");
  const YAML::Node& at = f.node["profile_json"];
  std::filesystem::path file(path);
  if (file.is_relative()) file = std::filesystem::path(base_dir) / file;
  std::ifstream in(file);
  if (!in) return Error(at, field, "cannot read " + file.string());
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return Error(at, field, file.string() + " is not JSON");
  try {
    double prompt_tokens = j.at("workload").at("prompt_tokens").get<double>();
    const auto& steps = j.at("measured").at("steps");
    std::vector<std::pair<int, double>> tput;  // (concurrency, aggregate decode tokens/s)
    double ttft_ms = 0;
    int min_c = 0;  // the lowest concurrency seen: its TTFT is the one-stream prefill time
    for (const auto& step : steps) {
      int c = step.at("concurrency").get<int>();
      double tps = step.at("decode_tokens_per_s").get<double>();
      if (c < 1 || !(tps > 0)) continue;
      if (min_c == 0 || c < min_c) {
        min_c = c;
        ttft_ms = step.at("ttft_ms").at("p50").get<double>();
      }
      tput.emplace_back(c, tps);
    }
    std::sort(tput.begin(), tput.end());
    if (tput.empty() || !(ttft_ms > 0) || !(prompt_tokens > 0)) {
      return Error(at, field, file.string() + ": measured.steps has no step with throughput and TTFT");
    }
    double base = tput.front().second / tput.front().first;  // one stream's decode tokens/s
    p->decode_tps = base;
    p->prompt_tps = prompt_tokens / (ttft_ms / 1000);
    p->batching.clear();
    double last = 1;
    for (const auto& [c, tps] : tput) {
      if (c <= 1) continue;
      last = std::max(last, tps / base);  // a noisy dip does not make the curve fall
      p->batching.emplace_back(c, last);
    }
  } catch (const nlohmann::json::exception& e) {
    return Error(at, field, file.string() + ": missing or wrong field (" + e.what() +
                                "); expected cohost profile --output json");
  }
  return Status::Ok();
}

Status ParseTraffic(const Field& f, ModelTraffic* t) {
  RETURN_IF_ERROR(CheckKeys(f, {"rate_per_s", "pattern", "on_s", "off_s", "burst_factor",
                                "peak_hour", "amplitude", "prompt_tokens", "output_tokens"}));
  if (f.node["rate_per_s"]) RETURN_IF_ERROR(GetNonNegative(f, "rate_per_s", &t->rate_per_s));
  std::string pattern = TrafficPatternName(t->pattern);
  RETURN_IF_ERROR(Get(f, "pattern", &pattern));
  if (pattern == "poisson") t->pattern = TrafficPattern::kPoisson;
  else if (pattern == "bursty") t->pattern = TrafficPattern::kBursty;
  else if (pattern == "diurnal") t->pattern = TrafficPattern::kDiurnal;
  else return Error(f.node["pattern"], Join(f.path, "pattern"), "must be poisson, bursty or diurnal");
  RETURN_IF_ERROR(GetNonNegative(f, "on_s", &t->on_s, true));
  RETURN_IF_ERROR(GetNonNegative(f, "off_s", &t->off_s, true));
  RETURN_IF_ERROR(GetNonNegative(f, "burst_factor", &t->burst_factor, true));
  double duty = t->on_s / (t->on_s + t->off_s);
  if (t->burst_factor < 1 || t->burst_factor * duty > 1.0 + 1e-9) {
    return Error(f.node["burst_factor"] ? f.node["burst_factor"] : f.node,
                 Join(f.path, "burst_factor"),
                 "must be >= 1 and at most (on_s + off_s) / on_s, so the off-rate is not negative");
  }
  RETURN_IF_ERROR(GetNonNegative(f, "peak_hour", &t->peak_hour));
  RETURN_IF_ERROR(GetNonNegative(f, "amplitude", &t->amplitude));
  if (t->amplitude > 1) return Error(f.node["amplitude"], Join(f.path, "amplitude"), "must be in [0, 1]");
  RETURN_IF_ERROR(GetInt(f, "prompt_tokens", &t->prompt_tokens, 1));
  RETURN_IF_ERROR(GetInt(f, "output_tokens", &t->output_tokens, 1));
  return Status::Ok();
}

Status ParseScaling(const Field& f, ScalingSettings* s) {
  RETURN_IF_ERROR(CheckKeys(f, {"target", "min", "max", "scale_out_cooldown_s",
                                "scale_in_cooldown_s", "stabilization_window_s",
                                "scale_to_zero_after_s", "reclaim_after_idle_s"}));
  RETURN_IF_ERROR(GetNonNegative(f, "target", &s->target, true));
  RETURN_IF_ERROR(GetInt(f, "min", &s->min_copies, 0));
  RETURN_IF_ERROR(GetInt(f, "max", &s->max_copies, 1));
  if (s->min_copies > s->max_copies) return Error(f.node["min"], Join(f.path, "min"), "must be <= max");
  RETURN_IF_ERROR(GetNonNegative(f, "scale_out_cooldown_s", &s->scale_out_cooldown_s));
  RETURN_IF_ERROR(GetNonNegative(f, "scale_in_cooldown_s", &s->scale_in_cooldown_s));
  RETURN_IF_ERROR(GetNonNegative(f, "stabilization_window_s", &s->stabilization_window_s));
  RETURN_IF_ERROR(GetNonNegative(f, "scale_to_zero_after_s", &s->scale_to_zero_after_s));
  RETURN_IF_ERROR(GetNonNegative(f, "reclaim_after_idle_s", &s->reclaim_after_idle_s));
  return Status::Ok();
}

// True when one copy of `m` fits on a node of type `t` (share or whole devices, memory, CPU).
bool Fits(const ModelSpec& m, const NodeType& t) {
  int devices = m.accelerators < 1 ? 1 : static_cast<int>(m.accelerators);
  return m.memory_mib <= t.device_memory_mib && devices <= t.devices && m.cpu_cores <= t.cpu_cores;
}

Status ParseModel(const Field& f, const std::vector<NodeType>& types, const std::string& base_dir,
                  ModelSpec* m) {
  RETURN_IF_ERROR(CheckKeys(f, {"name", "size_gb", "reservation", "parallel", "load_time_s",
                                "profile", "profile_json", "traffic", "scaling", "dedicated_in_hybrid",
                                "ttft_slo_s", "itl_slo_s", "priority"}));
  m->line = f.node.Mark().line + 1;
  RETURN_IF_ERROR(Get(f, "name", &m->name));
  if (m->name.empty()) return Error(f.node, Join(f.path, "name"), "is required");
  RETURN_IF_ERROR(GetGb(f, "size_gb", &m->size_mib, true));
  Field r{f.node["reservation"], Join(f.path, "reservation")};
  if (!r.node) return Error(f.node, r.path, "is required (accelerators, memory_gb, cpu_cores)");
  RETURN_IF_ERROR(CheckKeys(r, {"accelerators", "memory_gb", "cpu_cores"}));
  RETURN_IF_ERROR(GetNonNegative(r, "accelerators", &m->accelerators, true));
  if (m->accelerators > 1 && m->accelerators != std::floor(m->accelerators)) {
    return Error(r.node["accelerators"], Join(r.path, "accelerators"),
                 "must be in (0, 1] or a whole number");
  }
  RETURN_IF_ERROR(GetGb(r, "memory_gb", &m->memory_mib, true));
  RETURN_IF_ERROR(GetNonNegative(r, "cpu_cores", &m->cpu_cores));
  int64_t weights_per_device =
      m->size_mib / std::max(1, static_cast<int>(std::max(1.0, m->accelerators)));
  if (m->memory_mib < weights_per_device) {
    return Error(r.node["memory_gb"], Join(r.path, "memory_gb"),
                 "is smaller than the weights per device (" + std::to_string(weights_per_device) +
                     " MiB)");
  }
  int64_t largest = 0;
  for (const NodeType& t : types) largest = std::max(largest, t.device_memory_mib);
  if (m->memory_mib > largest) {
    return Error(r.node["memory_gb"], Join(r.path, "memory_gb"),
                 "reservation of " + std::to_string(m->memory_mib) +
                     " MiB is larger than any device (largest " + std::to_string(largest) + " MiB)");
  }
  bool fits_some = false;
  for (const NodeType& t : types) fits_some = fits_some || Fits(*m, t);
  if (!fits_some) {
    return Error(r.node, r.path,
                 "model '" + m->name + "' fits no node type (devices, memory per device or CPU)");
  }
  RETURN_IF_ERROR(GetInt(f, "parallel", &m->parallel, 1));
  RETURN_IF_ERROR(GetNonNegative(f, "load_time_s", &m->load_time_s));
  if (f.node["profile"] && f.node["profile_json"]) {
    return Error(f.node["profile_json"], Join(f.path, "profile_json"), "give profile or profile_json, not both");
  }
  if (f.node["profile"]) RETURN_IF_ERROR(ParseProfile({f.node["profile"], Join(f.path, "profile")}, &m->profile));
  if (f.node["profile_json"]) RETURN_IF_ERROR(ParseProfileJson(f, base_dir, &m->profile));
  if (f.node["traffic"]) RETURN_IF_ERROR(ParseTraffic({f.node["traffic"], Join(f.path, "traffic")}, &m->traffic));
  if (f.node["scaling"]) RETURN_IF_ERROR(ParseScaling({f.node["scaling"], Join(f.path, "scaling")}, &m->scaling));
  RETURN_IF_ERROR(Get(f, "dedicated_in_hybrid", &m->dedicated_in_hybrid));
  RETURN_IF_ERROR(GetInt(f, "priority", &m->priority, 0));
  if (m->priority > 100) return Error(f.node["priority"], Join(f.path, "priority"), "must be in 0..100");
  RETURN_IF_ERROR(GetNonNegative(f, "ttft_slo_s", &m->ttft_slo_s));
  RETURN_IF_ERROR(GetNonNegative(f, "itl_slo_s", &m->itl_slo_s));
  return Status::Ok();
}

Status ParseRoot(const YAML::Node& root, const std::string& base_dir, Scenario* s) {
  Field f{root, ""};
  RETURN_IF_ERROR(CheckKeys(f, {"name", "duration_h", "seed", "slo", "autoscale_tick_s",
                                "sample_s", "sizing", "holding", "fleet", "models", "traffic",
                                "strategies"}));
  RETURN_IF_ERROR(Get(f, "name", &s->name));
  double hours = s->duration_s / 3600;
  RETURN_IF_ERROR(GetNonNegative(f, "duration_h", &hours, true));
  s->duration_s = hours * 3600;
  RETURN_IF_ERROR(Get(f, "seed", &s->seed));
  if (root["slo"]) {
    Field slo{root["slo"], "slo"};
    RETURN_IF_ERROR(CheckKeys(slo, {"ttft_s", "itl_s"}));
    RETURN_IF_ERROR(GetNonNegative(slo, "ttft_s", &s->ttft_slo_s, true));
    RETURN_IF_ERROR(GetNonNegative(slo, "itl_s", &s->itl_slo_s, true));
  }
  RETURN_IF_ERROR(GetNonNegative(f, "autoscale_tick_s", &s->autoscale_tick_s, true));
  RETURN_IF_ERROR(GetNonNegative(f, "sample_s", &s->sample_s, true));
  if (root["sizing"]) {
    Field z{root["sizing"], "sizing"};
    RETURN_IF_ERROR(CheckKeys(z, {"peak_window_s", "peak_headroom"}));
    RETURN_IF_ERROR(GetNonNegative(z, "peak_window_s", &s->peak_window_s, true));
    RETURN_IF_ERROR(GetNonNegative(z, "peak_headroom", &s->peak_headroom, true));
  }
  if (root["holding"]) {
    Field h{root["holding"], "holding"};
    RETURN_IF_ERROR(CheckKeys(h, {"max_held_per_model", "timeout_s"}));
    RETURN_IF_ERROR(GetInt(h, "max_held_per_model", &s->max_held_per_model, 0));
    RETURN_IF_ERROR(GetNonNegative(h, "timeout_s", &s->hold_timeout_s, true));
  }

  Field fleet{root["fleet"], "fleet"};
  if (!fleet.node) return Error(root, "fleet", "is required (node_types)");
  RETURN_IF_ERROR(CheckKeys(fleet, {"node_types"}));
  YAML::Node types = fleet.node["node_types"];
  if (!types || !types.IsSequence() || types.size() == 0) {
    return Error(fleet.node, "fleet.node_types", "must be a non-empty list");
  }
  for (size_t i = 0; i < types.size(); ++i) {
    NodeType t;
    RETURN_IF_ERROR(ParseNodeType({types[i], "fleet.node_types[" + std::to_string(i) + "]"}, &t));
    s->node_types.push_back(t);
  }

  YAML::Node models = root["models"];
  if (!models || !models.IsSequence() || models.size() == 0) {
    return Error(root, "models", "must be a non-empty list");
  }
  for (size_t i = 0; i < models.size(); ++i) {
    ModelSpec m;
    std::string at = "models[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(ParseModel({models[i], at}, s->node_types, base_dir, &m));
    if (s->FindModel(m.name) >= 0) return Error(models[i], at + ".name", "duplicate model name");
    s->models.push_back(m);
  }

  if (root["traffic"]) {
    Field t{root["traffic"], "traffic"};
    RETURN_IF_ERROR(CheckKeys(t, {"total_rate_per_s", "zipf_s", "trace"}));
    RETURN_IF_ERROR(GetNonNegative(t, "total_rate_per_s", &s->total_rate_per_s));
    RETURN_IF_ERROR(GetNonNegative(t, "zipf_s", &s->zipf_s));
    RETURN_IF_ERROR(Get(t, "trace", &s->trace_path));
    if (!s->trace_path.empty() && std::filesystem::path(s->trace_path).is_relative()) {
      s->trace_path = (std::filesystem::path(base_dir) / s->trace_path).string();
    }
  }
  bool needs_share = false;
  for (const auto& m : s->models) needs_share = needs_share || m.traffic.rate_per_s < 0;
  if (needs_share && s->trace_path.empty() && s->total_rate_per_s <= 0) {
    return Error(root, "traffic.total_rate_per_s",
                 "is required (> 0) when a model has no traffic.rate_per_s and there is no trace");
  }

  YAML::Node strategies = root["strategies"];
  if (!strategies) {
    s->strategies = {StrategyKind::kDedicated, StrategyKind::kSharedStatic,
                     StrategyKind::kInferenceComponents, StrategyKind::kHybrid};
  } else {
    if (!strategies.IsSequence()) return Error(strategies, "strategies", "must be a list");
    for (size_t i = 0; i < strategies.size(); ++i) {
      std::string at = "strategies[" + std::to_string(i) + "]";
      auto kind = ParseStrategy(strategies[i].as<std::string>(""), at);
      if (!kind.ok()) return Error(strategies[i], at, kind.status().message());
      s->strategies.push_back(*kind);
    }
  }
  return Status::Ok();
}

}  // namespace

const char* TrafficPatternName(TrafficPattern pattern) {
  switch (pattern) {
    case TrafficPattern::kPoisson: return "poisson";
    case TrafficPattern::kBursty: return "bursty";
    case TrafficPattern::kDiurnal: return "diurnal";
  }
  return "?";
}

const char* StrategyName(StrategyKind kind) {
  switch (kind) {
    case StrategyKind::kDedicated: return "dedicated";
    case StrategyKind::kSharedStatic: return "shared_static";
    case StrategyKind::kInferenceComponents: return "inference_components";
    case StrategyKind::kHybrid: return "hybrid";
  }
  return "?";
}

StatusOr<StrategyKind> ParseStrategy(std::string_view text, std::string_view field) {
  for (StrategyKind k : {StrategyKind::kDedicated, StrategyKind::kSharedStatic,
                         StrategyKind::kInferenceComponents, StrategyKind::kHybrid}) {
    if (text == StrategyName(k)) return k;
  }
  return InvalidArgument(std::string(field),
                         "unknown strategy '" + std::string(text) +
                             "'; allowed: dedicated, shared_static, inference_components, hybrid");
}

int Scenario::FindModel(std::string_view name) const {
  for (size_t i = 0; i < models.size(); ++i) {
    if (models[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

StatusOr<Scenario> ParseScenario(std::string_view yaml_text, const std::string& base_dir) {
  Scenario s;
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    RETURN_IF_ERROR(ParseRoot(root, base_dir, &s));
  } catch (const YAML::Exception& e) {
    return InvalidArgument("", "line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return s;
}

StatusOr<Scenario> LoadScenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read scenario file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string dir = std::filesystem::path(path).parent_path().string();
  return ParseScenario(ss.str(), dir.empty() ? "." : dir);
}

}  // namespace cohost::sim
