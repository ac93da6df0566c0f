#include "profile/device_catalog.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "embedded/embedded_files.h"

namespace cohost::profile {
namespace {

// "source:line: path: message", field = path.
Status Bad(std::string_view source, const YAML::Node& at, const std::string& path, const std::string& message) {
  std::string where(source);
  if (at.IsDefined() && at.Mark().line >= 0) where += ":" + std::to_string(at.Mark().line + 1);
  return InvalidArgument(path, where + ": " + path + ": " + message);
}

std::string Shown(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "nothing";
}

StatusOr<std::string> ReadString(std::string_view source, const YAML::Node& map, const YAML::Node& at,
                                 const std::string& prefix, const char* key) {
  YAML::Node n = map[key];
  const std::string path = prefix + key;
  if (!n.IsDefined() || n.IsNull()) return Bad(source, at, path, "missing (a string is required)");
  if (!n.IsScalar() || n.Scalar().empty()) return Bad(source, n, path, "expected a non-empty string, got " + Shown(n));
  return n.Scalar();
}

StatusOr<double> ReadPositive(std::string_view source, const YAML::Node& map, const YAML::Node& at,
                              const std::string& prefix, const char* key, double max) {
  YAML::Node n = map[key];
  const std::string path = prefix + key;
  if (!n.IsDefined() || n.IsNull()) return Bad(source, at, path, "missing (a number > 0 is required)");
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v)) {
    return Bad(source, n, path, "expected a number > 0, got " + Shown(n));
  }
  if (v <= 0 || v > max) {
    std::ostringstream m;
    m << "expected a number > 0 and <= " << max << ", got " << n.Scalar();
    return Bad(source, n, path, m.str());
  }
  return v;
}

Status OnlyKnown(std::string_view source, const YAML::Node& map, const std::string& prefix,
                 const std::set<std::string>& known) {
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (!known.count(key)) {
      std::string allowed;
      for (const auto& k : known) allowed += (allowed.empty() ? "" : ", ") + k;
      return Bad(source, kv.first, prefix + key, "unknown field; allowed: " + allowed);
    }
  }
  return Status::Ok();
}

StatusOr<DeviceType> ParseEntry(std::string_view source, const YAML::Node& e, const std::string& prefix) {
  if (!e.IsMap()) return Bad(source, e, prefix.substr(0, prefix.size() - 1), "expected a mapping, got " + Shown(e));
  RETURN_IF_ERROR(OnlyKnown(source, e, prefix,
                            {"id", "name", "memory_gib", "memory_bandwidth_gbs", "dense_tflops", "price_per_hour_usd"}));
  DeviceType d;
  ASSIGN_OR_RETURN(d.id, ReadString(source, e, e, prefix, "id"));
  for (char c : d.id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return Bad(source, e["id"], prefix + "id", "expected letters, digits, '-' or '_', got '" + d.id + "'");
    }
  }
  ASSIGN_OR_RETURN(d.name, ReadString(source, e, e, prefix, "name"));
  ASSIGN_OR_RETURN(d.memory_gib, ReadPositive(source, e, e, prefix, "memory_gib", 1 << 20));
  ASSIGN_OR_RETURN(d.bandwidth_gbs, ReadPositive(source, e, e, prefix, "memory_bandwidth_gbs", 1e6));
  ASSIGN_OR_RETURN(d.dense_tflops, ReadPositive(source, e, e, prefix, "dense_tflops", 1e6));
  ASSIGN_OR_RETURN(d.price_per_hour, ReadPositive(source, e, e, prefix, "price_per_hour_usd", 1e6));
  return d;
}

}  // namespace

StatusOr<DeviceCatalog> ParseDeviceCatalog(std::string_view text, std::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument("yaml", std::string(source) + ":" + std::to_string(e.mark.line + 1) +
                                       ": not valid YAML: " + e.msg);
  }
  if (!root.IsMap()) return Bad(source, root, "catalog", "expected a mapping with as_of and devices, got " + Shown(root));
  try {
    RETURN_IF_ERROR(OnlyKnown(source, root, "", {"as_of", "note", "devices"}));
    DeviceCatalog c;
    ASSIGN_OR_RETURN(c.as_of, ReadString(source, root, root, "", "as_of"));
    if (root["note"].IsDefined() && !root["note"].IsNull()) {
      ASSIGN_OR_RETURN(c.note, ReadString(source, root, root, "", "note"));
    }
    YAML::Node list = root["devices"];
    if (!list.IsDefined() || list.IsNull()) return Bad(source, root, "devices", "missing (a list of device types is required)");
    if (!list.IsSequence() || list.size() == 0) {
      return Bad(source, list, "devices", "expected a non-empty list of device types, got " + Shown(list));
    }
    std::set<std::string> ids;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string prefix = "devices[" + std::to_string(i) + "].";
      ASSIGN_OR_RETURN(DeviceType d, ParseEntry(source, list[i], prefix));
      if (!ids.insert(d.id).second) return Bad(source, list[i]["id"], prefix + "id", "duplicate id '" + d.id + "'");
      c.devices.push_back(std::move(d));
    }
    return c;
  } catch (const YAML::Exception& e) {
    return InvalidArgument("yaml", std::string(source) + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

StatusOr<DeviceCatalog> LoadDeviceCatalog(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read device catalog " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseDeviceCatalog(ss.str(), std::filesystem::path(path).filename().string());
}

StatusOr<DeviceCatalog> BuiltinDeviceCatalog() {
  return ParseDeviceCatalog(embedded::DeviceCatalogYaml(), kBuiltinCatalogName);
}

}  // namespace cohost::profile
