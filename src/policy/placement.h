// Placement: which devices one copy of an inference component goes on.
//
// Pure: a function of a snapshot of the node (its devices and what is already reserved on them) and
// the copy's requirements. No I/O, no clock, no threads; the live control plane and the simulator
// call the same code. All amounts are integers (MiB, thousandths of an accelerator, thousandths of
// a core), so sums never drift and apply/release round-trip exactly.
//
// Rules:
//   - Never over-commit: on every device, reserved memory <= total memory and the reserved
//     accelerator shares sum to at most one whole device (1000 milli); on the node, reserved CPU
//     <= its cores.
//   - A copy with accelerators in (0, 1] takes that share of one accelerator device and
//     `memory_mib` on it. A copy with k > 1 accelerators takes k whole devices with no other copy
//     on them and `memory_mib` on each, all from one link group when some group can hold it.
//   - A CPU-only copy (accelerators 0) takes `memory_mib` on a host device (kind kCpu, id "cpu")
//     when the snapshot has one; without one, it reserves CPU cores only.
//   - Every copy reserves its CPU cores on the node.
//   - Each device may have a per-process overhead (DeviceLoad::process_overhead_mib: a CUDA
//     context, cuBLAS workspace and ggml pools, measured at start-up): every copy placed on the
//     device reserves `memory_mib` + that overhead there, and fits only where both are free.
//   - Among devices that fit, binpack picks the fullest (least free accelerator share, then least
//     free memory); spread picks the emptiest (most free share, then most free memory). Ties go to
//     the device earlier in the snapshot, so results are deterministic.
//   - Tenancy (policy/tenancy.h): on accelerator devices, a copy goes only where its endpoint may
//     go: never on a device dedicated to another endpoint, and a dedicated endpoint's copy never
//     on a device holding copies of another endpoint. A dedicated copy prefers devices its
//     endpoint already owns (then the strategy's order), so it claims a new device only when its
//     own are full. The host device is shared by all.
//   - Placement is exact: when it refuses, no choice of devices would have fit.
//
// Thread safety: free functions over values; call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/requirements.h"
#include "core/status.h"
#include "policy/tenancy.h"

namespace cohost::policy {

// One device as placement sees it: capacity and what is reserved on it now.
struct DeviceLoad {
  std::string id;
  DeviceKind kind = DeviceKind::kVirtual;
  std::string link_group;        // empty: in no group
  int64_t memory_mib = 0;        // total
  int64_t memory_used_mib = 0;   // reserved by copies (or otherwise unavailable)
  int64_t share_used_milli = 0;  // accelerator share reserved, 0..1000; always 0 for kCpu
  // MiB each copy's process takes here on top of its own memory_mib (Device::process_overhead_mib).
  int64_t process_overhead_mib = 0;
  // Its owner (a dedicated endpoint) and the copies on it by endpoint; ApplyAssignment and
  // ReleaseAssignment keep the copies, the caller sets a lasting owner (e.g. from the store).
  // Unused (empty) on the host device.
  DeviceTenants tenants;

  int64_t memory_free_mib() const;   // total - used, never below 0
  int64_t share_free_milli() const;  // 1000 - used, never below 0; 0 for kCpu
};

// A node at one moment: its devices and CPU, and what is reserved.
struct NodeSnapshot {
  std::vector<DeviceLoad> devices;
  int64_t cpu_milli = 0;       // cores copies may reserve, in thousandths
  int64_t cpu_used_milli = 0;  // reserved by copies

  int64_t cpu_free_milli() const;  // never below 0
  // The device with that id, or nullptr; valid while `devices` is not resized.
  const DeviceLoad* Find(std::string_view id) const;
  DeviceLoad* Find(std::string_view id);
};

// An empty snapshot (nothing reserved) of an inventory's devices and cores.
NodeSnapshot SnapshotFromInventory(const DeviceInventory& inventory);

// What a placed copy holds on one device.
struct DeviceReservation {
  std::string device_id;
  // MiB reserved on the device in all: the copy's memory_mib plus the device's per-process
  // overhead.
  int64_t memory_mib = 0;
  int64_t share_milli = 0;  // 0 on the host device
  // The part of memory_mib that is the device's per-process overhead (so memory_mib -
  // process_overhead_mib is what the copy's model, KV cache and buffers may use).
  int64_t process_overhead_mib = 0;

  bool operator==(const DeviceReservation&) const = default;
};

// Where a copy goes: its devices (none, for a CPU-only copy on a snapshot without a host device)
// and its CPU cores.
struct Assignment {
  std::vector<DeviceReservation> devices;
  int64_t cpu_milli = 0;
  Tenancy tenancy;  // whose copy it is (recorded on its accelerator devices when applied)

  std::vector<std::string> device_ids() const;
  // Sum over devices of memory_mib - process_overhead_mib: what the copy's llama.cpp buffers may
  // take in all (the runner's memory limit).
  int64_t buffers_limit_mib() const;
  bool operator==(const Assignment&) const = default;
};

// The resource a refused copy is short of.
enum class PlacementResource {
  kDeviceCount,       // the node has fewer devices of the needed kind than the copy needs, at all
  kAcceleratorShare,  // too few devices with enough free share (for k > 1: wholly unused devices)
  kMemory,            // devices with the share exist, but too few with enough free memory
  kCpu,               // the node's free CPU cores
  kTenancy,           // the devices it would fit on belong to (or hold copies of) other endpoints
};

// "device_count", "accelerator_share", "memory", "cpu", "tenancy".
const char* PlacementResourceName(PlacementResource resource);

// Why a copy does not fit, for callers (events, the API, the autoscaler) to act on.
// Units: kDeviceCount devices; kAcceleratorShare milli-accelerators (for k > 1 whole devices it
// counts the missing devices in thousandths, so 1000 = one device); kMemory MiB (the copy's
// memory_mib plus the per-process overhead of the device the figures are about); kCpu milli-cores;
// kTenancy devices (needed: the copy's device count; available: devices its endpoint may use that
// fit it now).
struct PlacementRefusal {
  PlacementResource resource = PlacementResource::kMemory;
  int64_t needed = 0;     // what the copy needs of the resource (per device for share and memory)
  int64_t available = 0;  // the best the node offers now
  int64_t missing = 0;    // needed - available: > 0
  // The devices the shortfall is on: those of the needed kind that lack the resource (empty for
  // kCpu, which is node-wide; for kTenancy, those the copy's endpoint may not use).
  std::vector<std::string> devices;
  // A readable sentence naming the resource, the amounts and the devices.
  std::string message;

  // ResourceExhausted carrying `message`.
  Status ToStatus() const;
};

// Places one copy of an endpoint's component (`tenancy`). Returns the assignment (with
// `tenancy`), or:
//   - InvalidArgument when `requirements` fail Validate() (naming the "compute.*" field) or the
//     snapshot has two devices with one id ("snapshot.devices[i].id");
//   - ResourceExhausted when the copy does not fit now; then *refusal, if not null, is filled in
//     (its message is the status's message). *refusal is untouched on success or InvalidArgument.
// A kTenancy refusal names each barred device and why ("device gpu1 is dedicated to endpoint
// \"big\""); it is given when the copy's endpoint may use fewer devices than the copy needs, or
// when the copy would fit now only by using barred devices. Other refusals, about the devices the
// endpoint may use, end with the barred devices, if any.
// The snapshot is not modified: call ApplyAssignment to reserve what was returned.
StatusOr<Assignment> PlaceCopy(const NodeSnapshot& snapshot, const Requirements& requirements,
                               const Tenancy& tenancy, PlacementStrategy strategy,
                               PlacementRefusal* refusal = nullptr);
// The same for a copy of no endpoint (Tenancy{}).
StatusOr<Assignment> PlaceCopy(const NodeSnapshot& snapshot, const Requirements& requirements,
                               PlacementStrategy strategy, PlacementRefusal* refusal = nullptr);

// Reserves `assignment` in *snapshot (so several copies can be placed in sequence), and records
// its tenancy on its accelerator devices (a dedicated copy makes its endpoint their owner). All
// or nothing: NotFound when a device id is not in the snapshot; FailedPrecondition, leaving the
// snapshot unchanged, when it would over-commit a device or the CPU, or put the copy on a device
// its endpoint may not use (a stale assignment).
Status ApplyAssignment(const Assignment& assignment, NodeSnapshot* snapshot);

// Returns what `assignment` reserved and forgets its copy on its devices (their owner stays: an
// owned device stays owned at zero copies). All or nothing: NotFound for an unknown device id;
// FailedPrecondition, leaving the snapshot unchanged, when the snapshot holds less than the
// assignment on some device or CPU (it was never applied, or was released twice).
Status ReleaseAssignment(const Assignment& assignment, NodeSnapshot* snapshot);

}  // namespace cohost::policy
