#include "control/device_claims.h"

#include <chrono>

#include "core/log.h"

namespace cohost::control {
namespace {

using json = nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Quoted(const std::string& endpoint) { return "endpoint \"" + endpoint + "\""; }

}  // namespace

void DeviceClaims::Event(const std::string& device, const std::string& reason,
                         const std::string& message) {
  (void)store_.AppendEvent({0, NowMs(), "device", device, reason, message});
  log::Info(message, {{"subject", device}, {"reason", reason}});
}

void DeviceClaims::Refresh() {
  auto endpoints = store_.List(store::ObjectKind::kEndpoint);
  auto claims = store_.List(store::ObjectKind::kDeviceClaim);
  if (!endpoints.ok() || !claims.ok()) {
    log::Warn("cannot read endpoints or device claims; keeping the last known",
              {{"error", (endpoints.ok() ? claims.status() : endpoints.status()).ToString()}});
    return;
  }
  endpoints_.clear();
  for (const store::Object& e : endpoints->objects) {
    const json kind = e.spec.is_object() ? e.spec.value("kind", json("shared")) : json("shared");
    endpoints_[e.name] = {e.create_revision, kind == "dedicated"};
  }
  owners_.clear();
  for (const store::Object& c : claims->objects) {
    const std::string endpoint = c.spec.is_object() ? c.spec.value("endpoint", "") : "";
    const int64_t revision = c.spec.is_object() ? c.spec.value("endpoint_revision", int64_t{0}) : 0;
    auto it = endpoints_.find(endpoint);
    if (it != endpoints_.end() && it->second.dedicated && it->second.create_revision == revision) {
      owners_[c.name] = endpoint;
      continue;
    }
    // Only this claim's version is dropped: one made again meanwhile is kept.
    auto dropped = store_.Delete(store::ObjectKind::kDeviceClaim, c.name,
                                 store::WriteOptions::AtRevision(c.revision));
    if (dropped.ok()) {
      Event(c.name, "DeviceReleased",
            "device " + c.name + " is free: " + Quoted(endpoint) + " that owned it was deleted");
    } else {
      log::Warn("cannot drop a device claim", {{"device", c.name}, {"error", dropped.status().ToString()}});
    }
  }
}

bool DeviceClaims::Dedicated(const std::string& endpoint) const {
  auto it = endpoints_.find(endpoint);
  return it != endpoints_.end() && it->second.dedicated;
}

policy::Tenancy DeviceClaims::TenancyOf(const std::string& endpoint) const {
  return policy::Tenancy{endpoint, Dedicated(endpoint)};
}

void DeviceClaims::Seed(policy::NodeSnapshot* node) const {
  for (const auto& [device, endpoint] : owners_) {
    if (policy::DeviceLoad* d = node->Find(device); d != nullptr && d->kind != DeviceKind::kCpu) {
      d->tenants.owner = endpoint;
    }
  }
}

void DeviceClaims::Claim(const policy::Assignment& assignment, const DeviceInventory& inventory) {
  const policy::Tenancy& t = assignment.tenancy;
  auto endpoint = endpoints_.find(t.endpoint);
  if (!t.dedicated || endpoint == endpoints_.end()) return;
  for (const policy::DeviceReservation& r : assignment.devices) {
    const Device* device = inventory.Find(r.device_id);
    if (device == nullptr || device->kind == DeviceKind::kCpu) continue;
    if (auto owner = owners_.find(r.device_id); owner != owners_.end() && owner->second == t.endpoint) {
      continue;
    }
    const json spec = {{"endpoint", t.endpoint},
                       {"endpoint_revision", endpoint->second.create_revision}};
    auto made = store_.Create(
        store::ObjectKind::kDeviceClaim, r.device_id, spec,
        store::WriteOptions::If({store::Precondition::Exists(store::ObjectKind::kEndpoint, t.endpoint)}));
    if (!made.ok()) {
      log::Warn("cannot record a device claim",
                {{"device", r.device_id}, {"endpoint", t.endpoint}, {"error", made.status().ToString()}});
      continue;
    }
    owners_[r.device_id] = t.endpoint;
    Event(r.device_id, "DeviceClaimed",
          "device " + r.device_id + " is dedicated to " + Quoted(t.endpoint) +
              " until the endpoint is deleted");
  }
}

}  // namespace cohost::control
