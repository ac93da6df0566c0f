#include "agent/overhead_cache.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace cohost::agent {

using json = nlohmann::json;

std::string OverheadCacheKey::ToString() const {
  return device_type + "|driver " + driver + "|build " + cohost_build + "|probe " +
         std::to_string(probe_version);
}

OverheadCache OverheadCache::Load(std::string path) {
  std::ifstream in(path);
  std::stringstream text;
  if (in) text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  json entries = j.is_object() && j.contains("entries") && j["entries"].is_object()
                     ? j["entries"]
                     : json::object();
  return OverheadCache(std::move(path), std::move(entries));
}

std::optional<OverheadMeasurement> OverheadCache::Find(const OverheadCacheKey& key) const {
  auto it = entries_.find(key.ToString());
  if (it == entries_.end() || !it->is_object()) return std::nullopt;
  try {
    OverheadMeasurement m;
    m.overhead_mib = it->at("overhead_mib").get<int64_t>();
    m.used_bytes = it->value("used_bytes", int64_t{0});
    m.buffers_bytes = it->value("buffers_bytes", int64_t{0});
    m.method = it->value("method", "");
    if (m.overhead_mib < 0) return std::nullopt;
    return m;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

void OverheadCache::Put(const OverheadCacheKey& key, const OverheadMeasurement& m) {
  entries_[key.ToString()] = {
      {"overhead_mib", m.overhead_mib},   {"used_bytes", m.used_bytes},
      {"buffers_bytes", m.buffers_bytes}, {"method", m.method},
      {"device_type", key.device_type},   {"driver", key.driver},
      {"cohost_build", key.cohost_build}, {"probe_version", key.probe_version}};
}

Status OverheadCache::Save() const {
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json({{"entries", entries_}}).dump(2) << "\n";
    if (!out) return Internal("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path_, ec);
  if (ec) return Internal("cannot rename " + tmp + " to " + path_ + ": " + ec.message());
  return Status::Ok();
}

}  // namespace cohost::agent
