#include "agent/engine_child.h"

#include <nlohmann/json.hpp>

#include "sys/run.h"

namespace cohost::agent {
namespace {

using json = nlohmann::json;

StatusCode CodeNamed(const std::string& name) {
  for (int c = static_cast<int>(StatusCode::kOk); c <= static_cast<int>(StatusCode::kInternal);
       ++c) {
    if (name == StatusCodeName(static_cast<StatusCode>(c))) return static_cast<StatusCode>(c);
  }
  return StatusCode::kInternal;
}

// The child's stderr, trimmed to its last line or so, for an error message.
std::string Tail(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t.size() > 600 ? t.substr(t.size() - 600) : t;
}

}  // namespace

std::vector<std::string> EngineChildEnvironment(
    const std::optional<std::vector<int>>& cuda_devices) {
  std::vector<std::string> env{"CUDA_DEVICE_ORDER=PCI_BUS_ID"};
  if (cuda_devices) {
    std::string list;
    for (int d : *cuda_devices) list += (list.empty() ? "" : ",") + std::to_string(d);
    env.push_back("CUDA_VISIBLE_DEVICES=" + list);
  }
  return env;
}

int64_t MemoryNeed::accelerator_bytes() const {
  int64_t total = 0;
  for (const auto& [name, bytes] : by_device) total += name == "CPU" ? 0 : bytes;
  return total;
}

std::vector<std::string> MemoryNeedArgv(const std::string& cohost_binary,
                                        const MemoryNeedQuery& q) {
  std::vector<std::string> argv{cohost_binary,  "memory-need",
                                "--model",      q.model_path,
                                "--context",    std::to_string(q.context),
                                "--parallel",   std::to_string(q.parallel),
                                "--gpu-layers", std::to_string(q.gpu_layers)};
  if (q.batch > 0) argv.insert(argv.end(), {"--batch", std::to_string(q.batch)});
  if (q.ubatch > 0) argv.insert(argv.end(), {"--ubatch", std::to_string(q.ubatch)});
  return argv;
}

StatusOr<MemoryNeed> ParseMemoryNeedJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Internal("cohost memory-need printed no JSON object: " + Tail(text));
  try {
    if (j.contains("error")) {
      const json& e = j.at("error");
      return Status(CodeNamed(e.value("code", "INTERNAL")), e.value("message", "unknown error"),
                    e.value("field", ""));
    }
    MemoryNeed need;
    need.total_bytes = j.at("total_bytes").get<int64_t>();
    need.total_mib = j.at("total_mib").get<int64_t>();
    need.n_params = j.value("n_params", int64_t{0});
    for (const auto& [name, bytes] : j.at("by_device").items())
      need.by_device[name] = bytes.get<int64_t>();
    return need;
  } catch (const json::exception& e) {
    return Internal(std::string("cohost memory-need printed malformed JSON: ") + e.what());
  }
}

StatusOr<MemoryNeed> MeasureMemoryNeedInChild(const std::string& cohost_binary,
                                              const MemoryNeedQuery& query,
                                              std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(sys::RunResult r,
                   sys::RunCaptured(MemoryNeedArgv(cohost_binary, query),
                                    EngineChildEnvironment(query.cuda_devices), timeout));
  if (r.out.empty()) {
    return Internal("cohost memory-need exited with status " + std::to_string(r.exit_status) +
                    ": " + Tail(r.err));
  }
  return ParseMemoryNeedJson(r.out);
}

StatusOr<std::vector<ChildDevice>> ParseDevicesJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("devices") || !j["devices"].is_array()) {
    return Internal("cohost devices printed no device list: " + Tail(text));
  }
  std::vector<ChildDevice> out;
  try {
    for (const json& d : j["devices"]) {
      ChildDevice c;
      c.device.id = d.at("id").get<std::string>();
      c.device.name = d.at("name").get<std::string>();
      ASSIGN_OR_RETURN(c.device.kind, ParseDeviceKind(d.at("kind").get<std::string>()));
      c.device.memory_mib = d.at("memory_mib").get<int64_t>();
      c.device.link_group = d.value("link_group", "");
      c.device.cuda_index = d.value("cuda_index", -1);
      c.free_mib = d.value("free_mib", int64_t{0});
      c.backend = d.value("backend", "");
      out.push_back(std::move(c));
    }
  } catch (const json::exception& e) {
    return Internal(std::string("cohost devices printed malformed JSON: ") + e.what());
  }
  return out;
}

StatusOr<std::vector<ChildDevice>> DiscoverDevicesInChild(const std::string& cohost_binary,
                                                          std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(sys::RunResult r,
                   sys::RunCaptured({cohost_binary, "devices", "--output", "json"},
                                    EngineChildEnvironment(std::nullopt), timeout));
  if (r.exit_status != 0) {
    return Internal("cohost devices exited with status " + std::to_string(r.exit_status) + ": " +
                    Tail(r.err));
  }
  return ParseDevicesJson(r.out);
}

}  // namespace cohost::agent
