// Tenancy: which endpoint's copies may share an accelerator device (endpoint kinds, DESIGN.md).
//
// A `shared` endpoint's copies share devices with copies of any other shared endpoint. A
// `dedicated` endpoint owns whole devices: once one of its copies is placed on a device, the
// device is the endpoint's own, and no copy of any other endpoint (shared or dedicated) may go
// there until the owner lets it go (in the live node, when the endpoint is deleted: the
// ownership outlives the copies, so a dedicated endpoint scaled to zero keeps its devices).
// Several copies of the same dedicated endpoint may share its devices.
//
// Rules (placement applies them to accelerator devices only; the host device, kind kCpu, is
// shared by every CPU-only copy whatever its endpoint, see docs/serve.md):
//   - A device owned by endpoint X admits only copies of X.
//   - A device nobody owns admits a shared copy; it admits a dedicated copy of X only while no
//     copy of another endpoint is reserved on it (placing it then makes X the owner).
//   - A copy without an endpoint (Tenancy{} : the simulator and callers that do not use
//     endpoints) counts as a shared copy of the unnamed endpoint "".
//
// Pure: values only. Thread safety: none needed (values).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace cohost::policy {

// Whom one copy belongs to.
struct Tenancy {
  std::string endpoint;    // the endpoint's name; "" for none
  bool dedicated = false;  // the endpoint's kind is dedicated

  bool operator==(const Tenancy&) const = default;
};

// Who holds one accelerator device.
struct DeviceTenants {
  // The dedicated endpoint that owns the device; empty: nobody does.
  std::string owner;
  // Copies reserved on the device, by endpoint ("" for copies without one). Endpoints with no
  // copy here are absent.
  std::map<std::string, int> copies;

  // Why a copy of `tenancy` may not go on the device named `device_id`, as a readable clause
  // ("device gpu1 is dedicated to endpoint \"big\""); empty when it may.
  std::string BarFor(const Tenancy& tenancy, std::string_view device_id) const;
  bool Admits(const Tenancy& tenancy) const { return BarFor(tenancy, "").empty(); }
  // Records one more copy of `tenancy` here (and its ownership, for a dedicated one).
  // REQUIRES: Admits(tenancy).
  void Add(const Tenancy& tenancy);
  // Forgets one copy of `tenancy`; the ownership stays. Returns false, changing nothing, when no
  // copy of its endpoint is recorded.
  bool Remove(const Tenancy& tenancy);

  // "dedicated" (owned), "shared" (copies of shared endpoints, nobody owns it) or "free".
  const char* Kind() const;
};

}  // namespace cohost::policy
