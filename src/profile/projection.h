// Projection arithmetic: what a model would do on a catalog device type (pure, no I/O).
//
// The model: a decode step of a copy reads its weights once and, for each stream in the batch,
// that stream's KV cache; it computes 2 × parameters FLOPs per stream. On a device with memory
// bandwidth BW and dense compute F, the roofline time of one step that advances `batch` streams
// spread over `copies` copies (each copy reads its own weights) is
//     step = max((copies × weights + batch × context × kv_per_token) / BW,  batch × flops / F)
// and each stream gets one token per step: inter-token latency = step, tokens/s = batch / step.
// Real engines reach a fraction of the roofline; that fraction ("efficiency") is measured on the
// device at hand (MeasuredEfficiency) and every projection divides the roofline time by it.
// A request also costs its prefill: prompt × flops / (F × efficiency) of device time.
//
// Everything here is a projection, not a measurement; callers label it so.
// One copy per device, with as many slots as memory and the objective allow: extra copies would
// each read their own weights every step, so they never beat extra slots in one copy.
// Thread safety: pure functions of values.
#pragma once

#include <cstdint>
#include <string>

#include "profile/device_catalog.h"

namespace cohost::profile {

struct ModelCost {
  double weights_bytes = 0;       // read once per decode step per copy
  double kv_bytes_per_token = 0;  // KV cache per token of context
  double flops_per_token = 0;     // 2 × parameters
};

struct Workload {
  int prompt_tokens = 128;
  int output_tokens = 128;
  double slo_itl_ms = 0;  // 0: no inter-token latency objective
  double rate_rps = 0;    // target requests/s; 0: none given
  // Tokens of KV a stream reads per step, on average over its life.
  double mean_context_tokens() const { return prompt_tokens + output_tokens / 2.0; }
};

struct CopyShape {
  int64_t need_mib = 0;     // memory of the recommended copy (its measured slots)
  double fixed_mib = 0;     // weights + compute buffers: the same whatever the slots
  double per_slot_mib = 0;  // KV cache of one slot (context × kv_per_token)
  int max_slots = 256;      // most slots one projected copy gets
};

// Roofline step time in seconds (see the header comment). bandwidth in bytes/s, flops in FLOP/s;
// flops 0 means compute is not a limit. REQUIRES: batch >= 1, copies >= 1, bandwidth > 0.
double RooflineStepSeconds(const ModelCost& model, const Workload& work, double bandwidth_bytes_s,
                           double flops_s, int batch, int copies);

// Efficiency from a measurement on the device at hand: roofline step time / measured inter-token
// latency at the same batch. Clamped to [0.001, 1]; 0 when the measurement is missing (<= 0).
double MeasuredEfficiency(double roofline_step_s, double measured_itl_s);

struct DeviceProjection {
  DeviceType device;
  bool fits = false;             // one copy with one slot fits in the device's memory
  int max_copies_per_device = 0; // copies of the recommended spec that fit in its memory
  // The operating point: one copy per device (a second copy would read its own weights, so it
  // never beats more slots in one) with the number of slots, limited by memory and max_slots,
  // that gives the most tokens/s while the projected ITL meets the objective.
  int slots_per_copy = 0;
  bool meets_slo = false;        // false: even one stream misses the ITL objective
  double itl_ms = 0;
  double tokens_per_s = 0;       // generated tokens/s per device at the operating point
  double requests_per_s = 0;     // per device, decode and prefill both counted
  // For the target rate (rate_rps > 0).
  int devices_for_rate = 0;      // 0 when no rate or it cannot be served
  bool serves_rate = false;      // fits, meets the SLO, and devices_for_rate <= max_devices
  double cost_per_hour = 0;      // devices_for_rate × price (or one device's price without a rate)
  // USD per million generated tokens: at the target rate on devices_for_rate devices, or, without
  // a rate, on one device at its operating point.
  double cost_per_million_tokens = 0;
  std::string note;              // why it does not fit / serve, when it does not
};

DeviceProjection Project(const DeviceType& device, const ModelCost& model, const CopyShape& copy,
                         const Workload& work, double efficiency, int max_devices);

}  // namespace cohost::profile
