#include "profile/projection.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace cohost::profile {

double RooflineStepSeconds(const ModelCost& model, const Workload& work, double bandwidth_bytes_s,
                           double flops_s, int batch, int copies) {
  const double bytes = copies * model.weights_bytes + batch * work.mean_context_tokens() * model.kv_bytes_per_token;
  const double memory_s = bytes / bandwidth_bytes_s;
  const double compute_s = flops_s > 0 ? batch * model.flops_per_token / flops_s : 0;
  return std::max(memory_s, compute_s);
}

double MeasuredEfficiency(double roofline_step_s, double measured_itl_s) {
  if (measured_itl_s <= 0 || roofline_step_s <= 0) return 0;
  return std::clamp(roofline_step_s / measured_itl_s, 0.001, 1.0);
}

DeviceProjection Project(const DeviceType& device, const ModelCost& model, const CopyShape& copy,
                         const Workload& work, double efficiency, int max_devices) {
  DeviceProjection p;
  p.device = device;
  const int64_t memory = device.memory_mib();
  const double one_slot = copy.fixed_mib + copy.per_slot_mib;
  p.fits = one_slot > 0 && one_slot <= static_cast<double>(memory);
  if (!p.fits) {
    std::ostringstream m;
    m << "one copy with one slot needs " << static_cast<int64_t>(std::ceil(one_slot)) << " MiB; the device has "
      << memory << " MiB";
    p.note = m.str();
    return p;
  }
  if (efficiency <= 0) efficiency = 1;
  p.max_copies_per_device = copy.need_mib > 0 ? static_cast<int>(memory / copy.need_mib) : 0;
  const double bw = device.bandwidth_gbs * 1e9;
  const double flops = device.dense_tflops * 1e12;
  int max_slots = std::max(1, copy.max_slots);
  if (copy.per_slot_mib > 0) {
    const double room = (static_cast<double>(memory) - copy.fixed_mib) / copy.per_slot_mib;
    max_slots = static_cast<int>(std::min<double>(max_slots, std::floor(room)));
  }
  auto step = [&](int b) { return RooflineStepSeconds(model, work, bw, flops, b, 1) / efficiency; };
  // The operating point: the batch with the most tokens/s among those whose ITL meets the
  // objective (ITL grows with the batch, so the search stops at the first miss). Ties go to the
  // smaller batch.
  const double slo_s = work.slo_itl_ms / 1000.0;
  int best = 0;
  double best_tps = 0;
  for (int b = 1; b <= max_slots; ++b) {
    const double t = step(b);
    if (slo_s > 0 && t > slo_s) break;
    const double tps = b / t;
    if (tps > best_tps * (1 + 1e-9)) {
      best = b;
      best_tps = tps;
    }
  }
  if (best == 0) {
    p.meets_slo = false;
    p.slots_per_copy = 1;
    p.itl_ms = step(1) * 1000;
    std::ostringstream m;
    m << "projected ITL at one stream is " << p.itl_ms << " ms, above the " << work.slo_itl_ms << " ms objective";
    p.note = m.str();
  } else {
    p.meets_slo = true;
    p.slots_per_copy = best;
    p.itl_ms = step(best) * 1000;
  }
  const double t = p.itl_ms / 1000;
  // Device-seconds per request: its share of decode steps plus its prefill.
  const double decode_s = work.output_tokens * t / p.slots_per_copy;
  const double prefill_s = flops > 0 ? work.prompt_tokens * model.flops_per_token / (flops * efficiency) : 0;
  p.requests_per_s = 1.0 / (decode_s + prefill_s);
  p.tokens_per_s = p.requests_per_s * work.output_tokens;
  if (work.rate_rps > 0) {
    const double devices = std::ceil(work.rate_rps / p.requests_per_s - 1e-9);
    if (!p.meets_slo) {
      // the note already says why
    } else if (devices > max_devices) {
      std::ostringstream m;
      m << "needs " << devices << " devices for " << work.rate_rps << " req/s, above the limit of " << max_devices;
      p.note = m.str();
    } else {
      p.serves_rate = true;
      p.devices_for_rate = static_cast<int>(devices);
      p.cost_per_hour = p.devices_for_rate * device.price_per_hour;
      p.cost_per_million_tokens = p.cost_per_hour / (work.rate_rps * work.output_tokens * 3600.0) * 1e6;
    }
  } else {
    p.cost_per_hour = device.price_per_hour;
    p.cost_per_million_tokens = device.price_per_hour / (p.tokens_per_s * 3600.0) * 1e6;
  }
  return p;
}

}  // namespace cohost::profile
