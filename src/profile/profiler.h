// The right-sizer: measures one model and recommends its reservation, copies and cost per device
// type (issue 6; docs/profile.md).
//
// RunProfile, in order:
//   1. reads the device catalog (errors name the file, line and field);
//   2. plans memory with llama.cpp dry runs: weights, KV per token, compute; totals for 1, 2, 4, 8
//      slots of `context` tokens (engine::PlanMemory);
//   3. starts one real `cohost runner` (as the agent launches copies) with max_concurrency slots
//      and sweeps concurrency 1, 2, 4, ... through its HTTP API (sweep_policy.h), measuring TTFT,
//      ITL, tokens/s and requests/s at each step;
//   4. measures the efficiency of the device at hand: its roofline ITL at one stream over the
//      measured ITL p50 at concurrency 1 (the host CPU's roofline uses its measured read
//      bandwidth; a GPU found in the catalog by name uses the catalog's figures);
//   5. projects every catalog device type (projection.h) scaled by that efficiency;
//   6. recommends an inference component spec that the control API accepts as it is.
// Measured figures are labelled measured (with the device named); projections are labelled
// projected.
// Thread safety: one call at a time per process is expected (it starts a child and threads).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "engine/memory_estimate.h"
#include "profile/device_catalog.h"
#include "profile/projection.h"
#include "profile/sweep_policy.h"

namespace cohost::profile {

struct ProfileOptions {
  std::string model_path;
  std::string cohost_binary;   // the `cohost` executable that runs the runner
  std::string catalog_path;    // empty: the built-in catalog (BuiltinDeviceCatalog)
  std::string name;            // component name; empty: from the model file name
  std::string endpoint = "main";
  int context = 2048;          // tokens per slot
  int prompt_tokens = 128;
  int output_tokens = 128;
  Slo slo;
  double rate_rps = 0;         // 0: no target rate
  int max_concurrency = 16;    // also the runner's slots during the sweep
  int requests_per_client = 2; // requests each client sends per step
  double min_growth = 0.05;
  int threads = 0;             // runner compute threads; 0: all cores
  int gpu_layers = -1;
  int max_devices = 64;        // a rate needing more devices of a type counts as not servable
  int64_t accelerator_memory_mib = 0;  // the copy's device size; 0: the device at hand
  double host_bandwidth_gbs = 0;       // 0: measure
  int start_timeout_s = 300;
};

// Errors: kInvalidArgument naming the option (flag) that is out of range.
Status ValidateProfileOptions(const ProfileOptions& options);

struct DeviceAtHand {
  std::string name;             // "CPU: AMD EPYC 7B13 (2 threads)", "NVIDIA H200"
  bool gpu = false;             // a real GPU computes the copy (not the CPU, not a virtual device)
  int threads = 1;              // compute threads the runner had during the sweep
  int64_t memory_mib = 0;       // GPU memory; 0 for the CPU
  double bandwidth_gbs = 0;     // roofline bandwidth used for the efficiency
  double tflops = 0;            // 0: compute not counted (the CPU)
  std::string figures_source;   // "measured read bandwidth", "catalog entry H200", "none"
};

struct Recommendation {
  int parallel = 0;                // slots per copy
  int target_concurrency = 0;      // the autoscaling target per copy
  int64_t memory_mib = 0;          // the reservation on the copy's device
  double accelerators = 0;
  double cpu_cores = 0;
  std::string cpu_cores_basis;     // why that many cores, for the report
  int copies_for_rate = 0;         // on the device at hand; 0 without a rate
  bool meets_slo = false;          // false: made from the closest step, which misses it
  nlohmann::json spec;             // the inference component spec
};

struct ProfileReport {
  ProfileOptions options;
  std::string catalog_path;        // the --devices file, or kBuiltinCatalogName
  DeviceCatalog catalog;
  engine::MemoryPlan memory;
  DeviceAtHand device;
  int prompt_tokens_measured = 0;  // the prompt the server counted
  std::vector<SweepStep> steps;
  SweepStop stop = SweepStop::kNone;
  std::optional<size_t> best;      // the highest concurrency that meets the SLO
  size_t chosen = 0;               // best, or the closest step when none meets
  double roofline_itl_ms = 0;      // on the device at hand, one stream
  double efficiency = 0;
  std::vector<DeviceProjection> projections;
  Recommendation recommendation;
  std::vector<std::string> warnings;  // an SLO nothing meets, a rate nothing serves, ...
};

// Errors: as ValidateProfileOptions; the catalog's errors; kNotFound / kDataLoss /
// kFailedPrecondition "the model does not load: ..." when the model cannot be read or served.
StatusOr<ProfileReport> RunProfile(const ProfileOptions& options,
                                   const std::function<void(const std::string&)>& progress = {});

// The recommendation from measured steps (pure; exposed for tests). `need_mib` is the memory one
// copy with `parallel` slots needs. CPU cores: a copy that computes on the CPU (the host, or a
// virtual device) keeps the threads it was measured with (`device.threads`); a copy on a real GPU
// gets kGpuCopyCpuCores, since its compute runs on the device and one host thread feeds it.
inline constexpr double kGpuCopyCpuCores = 1;
Recommendation Recommend(const ProfileOptions& options, const DeviceAtHand& device, const SweepStep& chosen,
                         bool meets_slo, int64_t need_mib, const std::string& model_uri);

}  // namespace cohost::profile
