// Requirements: what one copy of an inference component reserves, and how it prefers to be placed.
//
// Accelerators are a float in the API: 0 means a CPU-only copy; a value in (0, 1) shares one device
// with other copies; 1 or more whole devices are taken with nothing else on them (above 1 the value
// must be a whole number). Memory is per device: a copy with accelerators 2 and memory_mib 8192
// reserves 8192 MiB on each of its two devices. CPU cores are reserved on the node for every copy.
//
// Fractions are kept exactly as integer thousandths ("milli-accelerators", "milli-cores") so that
// sums over many copies never drift: ToMilli() rounds to the nearest thousandth and placement works
// only with the integers.
//
// Thread safety: plain values; copy freely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cohost {

// One whole accelerator, or one CPU core, in thousandths.
inline constexpr int64_t kMilliPerUnit = 1000;
// Upper bounds that keep every sum far from overflow; real values are much smaller.
inline constexpr double kMaxAccelerators = 1024;
inline constexpr int64_t kMaxMemoryMib = int64_t{1} << 40;  // 1 EiB
inline constexpr double kMaxCpuCores = 1 << 20;

// Rounds `value` (accelerators or cores) to the nearest thousandth, as an integer.
// REQUIRES: value is finite and 0 <= value <= 2^40.
int64_t ToMilli(double value);
// "0.25", "2", "1.5": a milli amount for messages, without trailing zeros.
std::string FormatMilli(int64_t milli);

struct Requirements {
  // 0: CPU only. (0, 1): a share of one device. >= 1: that many whole devices (a whole number).
  double accelerators = 0;
  // MiB reserved on each device the copy is placed on (host memory for a CPU-only copy).
  // 0 means "not declared": the control plane fills in the measured need before placing a copy.
  int64_t memory_mib = 0;
  // CPU cores reserved on the node, for every copy whatever its accelerators.
  double cpu_cores = 0;

  // OK, or InvalidArgument naming the bad field as "<prefix>.accelerators",
  // "<prefix>.memory_mb" or "<prefix>.cpu_cores" (the names of the control API's `compute`
  // object) with what would be accepted.
  Status Validate(std::string_view prefix = "compute") const;

  // The derived quantities below REQUIRE: Validate().ok().

  // accelerators in thousandths (0 for a CPU-only copy).
  int64_t accelerator_milli() const { return ToMilli(accelerators); }
  // How many devices the copy occupies: 0 (CPU only), 1 (a share or one whole device), or k.
  int device_count() const;
  // The share reserved on each of those devices, in thousandths: the fraction for a shared copy,
  // kMilliPerUnit for whole devices, 0 for a CPU-only copy.
  int64_t share_milli_per_device() const;
  int64_t cpu_milli() const { return ToMilli(cpu_cores); }
  bool cpu_only() const { return accelerator_milli() == 0; }
};

// How a component's copies choose among devices that fit.
enum class PlacementStrategy {
  kBinpack,  // the fullest device that fits: keeps other devices free for large copies
  kSpread,   // the emptiest device that fits: spreads load and failure domains
};

// "binpack" or "spread".
const char* PlacementStrategyName(PlacementStrategy strategy);
// Parses "binpack" / "spread"; InvalidArgument naming `field` otherwise.
StatusOr<PlacementStrategy> ParsePlacementStrategy(std::string_view text,
                                                   std::string_view field = "placement");

}  // namespace cohost
