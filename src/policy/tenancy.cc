#include "policy/tenancy.h"

namespace cohost::policy {
namespace {

std::string Quoted(const std::string& endpoint) { return "endpoint \"" + endpoint + "\""; }

}  // namespace

std::string DeviceTenants::BarFor(const Tenancy& tenancy, std::string_view device_id) const {
  const std::string device = "device " + std::string(device_id);
  if (!owner.empty()) {
    if (owner == tenancy.endpoint) return "";
    return device + " is dedicated to " + Quoted(owner);
  }
  if (!tenancy.dedicated) return "";
  for (const auto& [endpoint, n] : copies) {
    if (endpoint == tenancy.endpoint || n <= 0) continue;
    const std::string holder = endpoint.empty() ? "copies of other endpoints"
                                                : "copies of shared " + Quoted(endpoint);
    return device + " holds " + holder + "; " + Quoted(tenancy.endpoint) + " is dedicated";
  }
  return "";
}

void DeviceTenants::Add(const Tenancy& tenancy) {
  ++copies[tenancy.endpoint];
  if (tenancy.dedicated) owner = tenancy.endpoint;
}

bool DeviceTenants::Remove(const Tenancy& tenancy) {
  auto it = copies.find(tenancy.endpoint);
  if (it == copies.end()) return false;
  if (--it->second <= 0) copies.erase(it);
  return true;
}

const char* DeviceTenants::Kind() const {
  if (!owner.empty()) return "dedicated";
  return copies.empty() ? "free" : "shared";
}

}  // namespace cohost::policy
