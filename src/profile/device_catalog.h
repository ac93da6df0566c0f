// The device catalog: accelerator types the right-sizer projects onto (data/devices.yaml).
//
// A YAML file with `as_of` (string), optional `note`, and `devices`: a list of entries with
// exactly the fields id, name, memory_gib, memory_bandwidth_gbs, dense_tflops, price_per_hour_usd
// (see data/devices.yaml). Parsing is strict: a missing, unknown, mistyped or out-of-range field,
// or a duplicate id, is refused with the file, the line and the field named, e.g.
//   "devices.yaml:12: devices[2].memory_gib: expected a number > 0, got 'lots'".
// The catalog shipped with cohost is built into the executable (BuiltinDeviceCatalog), so
// `cohost profile` needs no file at run time; `--devices FILE` reads another.
// Pure but for LoadDeviceCatalog (reads one file). Thread safety: values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cohost::profile {

struct DeviceType {
  std::string id;               // "H100"
  std::string name;             // "NVIDIA H100 80GB SXM"
  double memory_gib = 0;        // device memory
  double bandwidth_gbs = 0;     // memory bandwidth, 10^9 bytes/s
  double dense_tflops = 0;      // dense FP16/BF16 tensor throughput, 10^12 FLOP/s
  double price_per_hour = 0;    // USD per device-hour

  int64_t memory_mib() const { return static_cast<int64_t>(memory_gib * 1024); }
};

struct DeviceCatalog {
  std::string as_of;  // when the figures were written down
  std::string note;
  std::vector<DeviceType> devices;
};

// Parses catalog text; `source` names it in errors (a file name). Errors: kInvalidArgument with
// the field path as field() and "source:line: path: what" as the message.
StatusOr<DeviceCatalog> ParseDeviceCatalog(std::string_view text, std::string_view source = "catalog");

// Reads and parses a file. Errors: kNotFound when it cannot be read; as ParseDeviceCatalog.
StatusOr<DeviceCatalog> LoadDeviceCatalog(const std::string& path);

// How reports name the built-in catalog (in place of a path).
inline constexpr std::string_view kBuiltinCatalogName = "built-in devices.yaml";

// The catalog shipped with cohost (data/devices.yaml as it was at build time, embedded in the
// executable). Errors: as ParseDeviceCatalog, with kBuiltinCatalogName as the source (a build
// with a broken catalog; the unit tests parse it).
StatusOr<DeviceCatalog> BuiltinDeviceCatalog();

}  // namespace cohost::profile
