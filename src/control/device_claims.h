// DeviceClaims: which accelerator devices of this node dedicated endpoints own (policy/tenancy.h).
//
// Ownership is kept in the store, so that it outlives the endpoint's copies (a dedicated endpoint
// scaled to zero keeps its devices, and its next copy loads there) and a restart of serve. One
// store object per owned device:
//   (ObjectKind::kDeviceClaim, device id) -> {"endpoint": "big", "endpoint_revision": 12}
// where endpoint_revision is the endpoint's create_revision, so an endpoint deleted and created
// again under the same name does not inherit the old one's devices.
//
// Lifecycle of a device: free -> (a dedicated copy is placed there: Claim) owned -> (the endpoint
// is deleted, recreated, or is not dedicated any more: the next Refresh drops the claim) free.
// A claim is only ever made for a device that placement let the endpoint take, that is one with
// no copy of another endpoint on it.
//
// Events: "DeviceClaimed" and "DeviceReleased" (subject kind "device", name the device id).
// Thread safety: none; the node controller's Tick thread owns it.
#pragma once

#include <map>
#include <string>

#include "core/device.h"
#include "policy/placement.h"
#include "store/state_store.h"

namespace cohost::control {

class DeviceClaims {
 public:
  explicit DeviceClaims(store::StateStore& store) : store_(store) {}

  // Reads the endpoints and the claims, and drops the claims whose endpoint is gone (or was
  // recreated, or is not dedicated). When the store cannot be read, keeps what it knew.
  void Refresh();
  // Whether `endpoint` is dedicated (as of the last Refresh; false for an unknown one).
  bool Dedicated(const std::string& endpoint) const;
  // The tenancy of a copy of a component of `endpoint`.
  policy::Tenancy TenancyOf(const std::string& endpoint) const;
  // Marks each claimed device of `node` as owned (DeviceLoad::tenants.owner).
  void Seed(policy::NodeSnapshot* node) const;
  // After a copy was placed: claims its accelerator devices (those in `inventory` that are not
  // the host) for its endpoint when it is dedicated and does not own them yet. A claim the store
  // refuses is logged and retried at the copy's next placement; the snapshot still holds the
  // device for the endpoint while the copy lives.
  void Claim(const policy::Assignment& assignment, const DeviceInventory& inventory);
  // Device id -> owning endpoint.
  const std::map<std::string, std::string>& owners() const { return owners_; }

 private:
  struct EndpointInfo {
    int64_t create_revision = 0;
    bool dedicated = false;
  };
  void Event(const std::string& device, const std::string& reason, const std::string& message);

  store::StateStore& store_;
  std::map<std::string, EndpointInfo> endpoints_;  // as of the last Refresh
  std::map<std::string, std::string> owners_;      // device id -> endpoint
};

}  // namespace cohost::control
