#include "profile/profiler.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/component.h"
#include "engine/device_discovery.h"
#include "engine/llama_runtime.h"
#include "profile/host_bandwidth.h"
#include "profile/runner_copy.h"

namespace cohost::profile {
namespace {

std::string ComponentName(const std::string& model_path) {
  std::string stem = std::filesystem::path(model_path).stem().string();
  std::string out;
  for (char c : stem) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
  }
  if (out.empty() || !std::isalpha(static_cast<unsigned char>(out[0]))) out = "m-" + out;
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string CpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

DeviceAtHand FindDeviceAtHand(const ProfileOptions& o, const DeviceCatalog& catalog, int threads) {
  DeviceAtHand d;
  d.threads = threads;
  if (o.gpu_layers != 0) {
    for (const auto& found : engine::DiscoverDevices()) {
      if (found.device.kind != DeviceKind::kCuda) continue;
      d.gpu = true;
      d.name = found.device.name;
      d.memory_mib = found.device.memory_mib;
      d.figures_source = "none (not in the catalog)";
      // The longest catalog id found in the device's name: "H100" in "NVIDIA H100 80GB HBM3".
      size_t best_len = 0;
      for (const auto& t : catalog.devices) {
        std::string id = Upper(t.id);
        id = id.substr(0, id.find('-'));  // "A100-80" matches "A100"
        if (Upper(d.name).find(id) != std::string::npos && id.size() > best_len) {
          best_len = id.size();
          d.bandwidth_gbs = t.bandwidth_gbs;
          d.tflops = t.dense_tflops;
          d.figures_source = "catalog entry " + t.id;
        }
      }
      return d;
    }
  }
  d.name = "CPU: " + CpuModelName() + " (" + std::to_string(threads) + " threads)";
  if (o.host_bandwidth_gbs > 0) {
    d.bandwidth_gbs = o.host_bandwidth_gbs;
    d.figures_source = "--host-bandwidth-gbs";
  } else {
    d.bandwidth_gbs = MeasureReadBandwidth(size_t{256} << 20, threads) / 1e9;
    d.figures_source = "measured read bandwidth";
  }
  return d;
}

}  // namespace

Status ValidateProfileOptions(const ProfileOptions& o) {
  if (o.model_path.empty()) return InvalidArgument("MODEL", "a GGUF model file is required");
  if (o.context < 16 || o.context > (1 << 20)) return InvalidArgument("--context", "must be 16..1048576");
  if (o.prompt_tokens < 1) return InvalidArgument("--prompt-tokens", "must be at least 1");
  if (o.output_tokens < 2) return InvalidArgument("--output-tokens", "must be at least 2 (ITL needs two tokens)");
  if (o.prompt_tokens + o.output_tokens > o.context) {
    return InvalidArgument("--context", "must hold --prompt-tokens + --output-tokens (" +
                                            std::to_string(o.prompt_tokens + o.output_tokens) + "), got " +
                                            std::to_string(o.context));
  }
  if (o.slo.ttft_ms < 0) return InvalidArgument("--slo-ttft-ms", "must not be negative");
  if (o.slo.itl_ms < 0) return InvalidArgument("--slo-itl-ms", "must not be negative");
  if (o.rate_rps < 0 || !std::isfinite(o.rate_rps)) return InvalidArgument("--rate", "must be a number >= 0");
  if (o.max_concurrency < 1 || o.max_concurrency > 256) return InvalidArgument("--max-concurrency", "must be 1..256");
  if (o.requests_per_client < 1) return InvalidArgument("--requests-per-client", "must be at least 1");
  if (o.threads < 0) return InvalidArgument("--threads", "must be 0 (all cores) or more");
  if (o.max_devices < 1) return InvalidArgument("--max-devices", "must be at least 1");
  if (o.accelerator_memory_mib < 0) return InvalidArgument("--accelerator-memory-mib", "must not be negative");
  if (o.host_bandwidth_gbs < 0) return InvalidArgument("--host-bandwidth-gbs", "must not be negative");
  return Status::Ok();
}

Recommendation Recommend(const ProfileOptions& o, const DeviceAtHand& device, const SweepStep& chosen,
                         bool meets_slo, int64_t need_mib, const std::string& model_uri) {
  Recommendation r;
  r.meets_slo = meets_slo;
  r.target_concurrency = chosen.concurrency;
  r.parallel = chosen.concurrency;
  r.memory_mib = need_mib;
  if (device.gpu) {
    r.cpu_cores = kGpuCopyCpuCores;
    r.cpu_cores_basis = "a GPU copy: its compute runs on " + device.name + "; one host thread feeds it";
  } else {
    r.cpu_cores = std::max(1, device.threads);
    r.cpu_cores_basis = "the " + std::to_string(static_cast<int>(r.cpu_cores)) +
                        " compute threads the copy was measured with (it computes on the CPU)";
  }
  const int64_t device_mib = o.accelerator_memory_mib > 0 ? o.accelerator_memory_mib : (device.gpu ? device.memory_mib : 0);
  if (device_mib > 0) {
    // A share of one device in hundredths, enough for the memory (at most one whole device).
    r.accelerators = std::min(1.0, std::ceil(static_cast<double>(need_mib) * 100 / device_mib) / 100);
  }
  const double rps = chosen.load.requests_per_s;
  if (o.rate_rps > 0 && rps > 0) {
    r.copies_for_rate = static_cast<int>(std::min(1e9, std::ceil(o.rate_rps / rps - 1e-9)));
  }
  // The control API takes at most kMaxCopies copies of a component (core/component.cc).
  constexpr int kMaxCopies = 10000;
  const int initial = std::clamp(r.copies_for_rate, 1, kMaxCopies);
  r.spec = {{"name", o.name.empty() ? ComponentName(o.model_path) : o.name},
            {"endpoint", o.endpoint},
            {"model", {{"uri", model_uri}}},
            {"compute", {{"accelerators", r.accelerators}, {"memory_mb", r.memory_mib}, {"cpu_cores", r.cpu_cores}}},
            {"startup", {{"context_length", o.context}, {"parallel", r.parallel}}},
            {"copies", {{"initial", initial}, {"min", o.rate_rps > 0 ? 1 : 0}, {"max", std::min(kMaxCopies, std::max(4, 2 * initial))}}},
            {"scaling", {{"metric", "concurrent_requests_per_copy"}, {"target", r.target_concurrency}}}};
  return r;
}

StatusOr<ProfileReport> RunProfile(const ProfileOptions& o, const std::function<void(const std::string&)>& progress) {
  auto say = [&](const std::string& s) { if (progress) progress(s); };
  RETURN_IF_ERROR(ValidateProfileOptions(o));
  ProfileReport rep;
  rep.options = o;
  if (o.catalog_path.empty()) {
    rep.catalog_path = std::string(kBuiltinCatalogName);
    ASSIGN_OR_RETURN(rep.catalog, BuiltinDeviceCatalog());
  } else {
    rep.catalog_path = o.catalog_path;
    ASSIGN_OR_RETURN(rep.catalog, LoadDeviceCatalog(rep.catalog_path));
  }

  // Memory, from dry runs.
  engine::InitLlamaRuntime(false);
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::error_code ec;
  const std::string model_path = std::filesystem::absolute(o.model_path, ec).string();
  engine::SchedulerOptions so;
  so.context = o.context;
  so.threads = 1;
  say("planning memory (llama.cpp dry runs)");
  auto plan = engine::PlanMemory({model_path, o.gpu_layers, true}, so, {1, 2, 4, 8});
  if (!plan.ok()) {
    return Status(plan.status().code(), "the model does not load: " + plan.status().message(), plan.status().field());
  }
  rep.memory = *plan;

  // The measured sweep on one real runner.
  rep.device = FindDeviceAtHand(o, rep.catalog, threads);
  agent::RunnerLaunch launch;
  launch.cohost_binary = o.cohost_binary;
  launch.model_path = model_path;
  launch.context = o.context;
  launch.parallel = o.max_concurrency;
  launch.threads = threads;
  launch.gpu_layers = o.gpu_layers;
  say("starting a runner with " + std::to_string(o.max_concurrency) + " slots of " + std::to_string(o.context) + " tokens");
  auto copy = RunnerCopy::Start(launch, std::chrono::seconds(o.start_timeout_s));
  if (!copy.ok()) {
    std::string msg = copy.status().message();
    if (msg.rfind("the model did not load", 0) != 0) msg = "the model does not load: " + msg;
    return Status(copy.status().code(), msg);
  }
  LoadOptions load;
  load.address = (*copy)->address();
  load.max_tokens = o.output_tokens;
  load.requests_per_client = o.requests_per_client;
  auto cal = CalibratePrompt(load, o.prompt_tokens);
  if (!cal.ok()) return Status(cal.status().code(), "the model does not serve: " + cal.status().message());
  load.prompt_words = cal->words;
  rep.prompt_tokens_measured = cal->prompt_tokens;

  SweepPolicy policy{o.max_concurrency, o.min_growth};
  for (int c = 1; c > 0;) {
    say("measuring concurrency " + std::to_string(c));
    SweepStep step;
    step.concurrency = c;
    load.clients = c;
    step.load = RunStreamLoad(load);
    JudgeStep(o.slo, step);
    rep.steps.push_back(std::move(step));
    SweepNext next = DecideNext(rep.steps, policy);
    rep.stop = next.stop;
    c = next.concurrency;
  }
  copy->reset();

  rep.best = BestStep(rep.steps, o.min_growth);
  rep.chosen = rep.best ? *rep.best : ClosestStep(o.slo, rep.steps);
  if (!rep.best) {
    const SweepStep& c = rep.steps[rep.chosen];
    rep.warnings.push_back("no concurrency meets the objective; the best reached is concurrency " +
                           std::to_string(c.concurrency) + " (" + c.verdict + "); the recommendation uses it");
  }

  // Efficiency of the device at hand, and projections.
  Workload work;
  work.prompt_tokens = rep.prompt_tokens_measured > 0 ? rep.prompt_tokens_measured : o.prompt_tokens;
  work.output_tokens = o.output_tokens;
  work.slo_itl_ms = o.slo.itl_ms;
  work.rate_rps = o.rate_rps;
  ModelCost cost{static_cast<double>(rep.memory.weights_bytes), rep.memory.kv_bytes_per_token,
                 2.0 * static_cast<double>(rep.memory.n_params)};
  if (rep.device.bandwidth_gbs > 0) {
    const double roof = RooflineStepSeconds(cost, work, rep.device.bandwidth_gbs * 1e9, rep.device.tflops * 1e12, 1, 1);
    rep.roofline_itl_ms = roof * 1000;
    rep.efficiency = MeasuredEfficiency(roof, rep.steps.front().load.itl_ms.p50 / 1000);
  }
  if (rep.efficiency <= 0) {
    rep.warnings.push_back("no roofline for the device at hand (" + rep.device.name +
                           "): projections assume the full roofline (efficiency 1)");
  }

  // The recommendation, with the memory of exactly its slots.
  const SweepStep& chosen = rep.steps[rep.chosen];
  so.parallel = chosen.concurrency;
  so.batch = std::max(so.batch, so.parallel);
  ASSIGN_OR_RETURN(engine::MemoryEstimate need, engine::EstimateMemory({model_path, o.gpu_layers, true}, so));
  rep.recommendation = Recommend(o, rep.device, chosen, rep.best.has_value(), need.total.total_mib(), model_path);
  if (rep.recommendation.copies_for_rate > 10000) {
    rep.warnings.push_back("the rate needs " + std::to_string(rep.recommendation.copies_for_rate) +
                           " copies on the device at hand, more than a component may have (10000); the spec asks for 10000");
  }
  auto parsed = ParseInferenceComponent(rep.recommendation.spec);
  if (!parsed.ok()) return Internal("the recommended spec is not valid: " + parsed.status().ToString());

  CopyShape shape;
  shape.need_mib = need.total.total_mib();
  shape.per_slot_mib = rep.memory.kv_bytes_per_token * o.context / (1 << 20);
  shape.fixed_mib = static_cast<double>(need.total.weights_bytes + need.total.compute_bytes) / (1 << 20);
  bool any_serves = false;
  for (const DeviceType& t : rep.catalog.devices) {
    rep.projections.push_back(Project(t, cost, shape, work, rep.efficiency, o.max_devices));
    any_serves = any_serves || rep.projections.back().serves_rate;
  }
  if (o.rate_rps > 0 && !any_serves) {
    std::string best_id;
    double best_rps = 0;
    for (const auto& p : rep.projections) {
      if (p.fits && p.meets_slo && p.requests_per_s * o.max_devices > best_rps) {
        best_rps = p.requests_per_s * o.max_devices;
        best_id = p.device.id;
      }
    }
    char buf[256];
    if (best_id.empty()) {
      std::snprintf(buf, sizeof buf, "no catalog device type can serve %.3g req/s: none fits the model and meets the objective",
                    o.rate_rps);
    } else {
      std::snprintf(buf, sizeof buf,
                    "no catalog device type can serve %.3g req/s within %d devices; the most is %.3g req/s on %d x %s (projected)",
                    o.rate_rps, o.max_devices, best_rps, o.max_devices, best_id.c_str());
    }
    rep.warnings.push_back(buf);
  }
  return rep;
}

}  // namespace cohost::profile
