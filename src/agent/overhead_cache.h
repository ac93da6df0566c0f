// OverheadCache: measured per-process device overheads kept in the data directory, so that a
// restarted `cohost serve` does not probe again (agent/overhead_probe.h).
//
// An entry is keyed by everything the figure depends on: the device type ("cuda:NVIDIA H200",
// "host"), the driver version, the cohost build (llama.cpp is linked into it) and the probe's
// version. A change of any of them is a miss, and the device type is probed again.
// The file is JSON: {"entries": {"<key>": {"overhead_mib": 489, "used_bytes": ..., ...}}}.
//
// Thread safety: none; one owner.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/status.h"

namespace cohost::agent {

// One probe's result.
struct OverheadMeasurement {
  int64_t overhead_mib = 0;   // used - buffers, in MiB rounded up, at least 0
  int64_t used_bytes = 0;     // what the probe runner held on the device
  int64_t buffers_bytes = 0;  // its llama.cpp buffers there (the dry run's figure)
  std::string method;  // how used was read: "nvml_process", "nvml_device_delta", "proc_vmrss"
};

struct OverheadCacheKey {
  std::string device_type;
  std::string driver;
  std::string cohost_build;
  int probe_version = 0;

  // "cuda:NVIDIA H200|driver 550.54.15|build 123-456|probe 1"
  std::string ToString() const;
};

class OverheadCache {
 public:
  // The cache stored at `path`. A missing, unreadable or malformed file is an empty cache (it
  // only costs a probe).
  static OverheadCache Load(std::string path);

  std::optional<OverheadMeasurement> Find(const OverheadCacheKey& key) const;
  void Put(const OverheadCacheKey& key, const OverheadMeasurement& m);
  // Writes the file (a temporary file renamed into place). Errors: kInternal naming the path.
  Status Save() const;

 private:
  OverheadCache(std::string path, nlohmann::json entries)
      : path_(std::move(path)), entries_(std::move(entries)) {}

  std::string path_;
  nlohmann::json entries_;  // key string -> measurement object
};

}  // namespace cohost::agent
