#include "cli/profile_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "profile/profiler.h"
#include "profile/report.h"

namespace cohost::cli {
namespace {

struct ProfileFlags {
  profile::ProfileOptions options;
  std::string output = "table";
  std::string svg;
  std::string spec;
  std::string slo_quantile = "p99";
};

std::string SelfPath() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "cohost" : p.string();
}

int Run(ProfileFlags f) {
  f.options.cohost_binary = SelfPath();
  f.options.slo.use_p50 = f.slo_quantile == "p50";
  const bool quiet = f.output == "json";
  auto progress = [quiet](const std::string& s) {
    if (!quiet) std::fprintf(stderr, "profile: %s\n", s.c_str());
  };
  auto report = profile::RunProfile(f.options, progress);
  if (!report.ok()) {
    const Status& st = report.status();
    std::string msg = st.message();
    if (!st.field().empty() && msg.find(st.field()) == std::string::npos) msg = st.field() + ": " + msg;
    std::fprintf(stderr, "error: %s\n", msg.c_str());
    const bool bad_input = st.code() == StatusCode::kInvalidArgument || st.message().find("device catalog") != std::string::npos;
    return bad_input ? 2 : 1;
  }
  if (f.output == "json") {
    std::printf("%s\n", profile::ReportJson(*report).dump(2).c_str());
  } else {
    std::printf("%s", profile::RenderTable(*report).c_str());
  }
  if (!f.svg.empty()) {
    std::ofstream out(f.svg);
    out << profile::RenderSvg(*report);
    if (!out) {
      std::fprintf(stderr, "error: --svg: cannot write %s\n", f.svg.c_str());
      return 2;
    }
  }
  if (!f.spec.empty()) {
    std::ofstream out(f.spec);
    out << report->recommendation.spec.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "error: --spec: cannot write %s\n", f.spec.c_str());
      return 2;
    }
  }
  // Warnings are part of the table and of the JSON (stdout), so that they are never lost.
  return 0;
}

}  // namespace

void AddProfileCommand(CLI::App& app) {
  auto f = std::make_shared<ProfileFlags>();
  auto& o = f->options;
  CLI::App* cmd = app.add_subcommand(
      "profile", "Measure a model (memory dry run, a concurrency sweep on a real runner) and recommend its "
                 "reservation, copies and cost per device type");
  cmd->add_option("MODEL", o.model_path, "GGUF model file")->required();
  cmd->add_option("--context", o.context, "tokens of context per slot")->capture_default_str();
  cmd->add_option("--prompt-tokens", o.prompt_tokens, "prompt length of the measured requests")->capture_default_str();
  cmd->add_option("--output-tokens", o.output_tokens, "tokens generated per measured request")->capture_default_str();
  cmd->add_option("--slo-ttft-ms", o.slo.ttft_ms, "time-to-first-token objective (0: none)")->capture_default_str();
  cmd->add_option("--slo-itl-ms", o.slo.itl_ms, "inter-token latency objective (0: none)")->capture_default_str();
  cmd->add_option("--slo-quantile", f->slo_quantile, "which quantile the objective bounds")
      ->check(CLI::IsMember({"p50", "p99"}))->capture_default_str();
  cmd->add_option("--rate", o.rate_rps, "target requests/s (0: none)")->capture_default_str();
  cmd->add_option("--devices", o.catalog_path, "device catalog YAML (default: the catalog built into cohost, data/devices.yaml)");
  cmd->add_option("--output,-o", f->output, "table or json")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  cmd->add_option("--svg", f->svg, "also write a chart (latency and throughput vs concurrency, cost per device type)");
  cmd->add_option("--spec", f->spec, "also write the recommended component spec (JSON) here, for `cohost component create -f`");
  cmd->add_option("--name", o.name, "component name in the recommended spec (default: from the file name)");
  cmd->add_option("--endpoint", o.endpoint, "endpoint in the recommended spec")->capture_default_str();
  cmd->add_option("--max-concurrency", o.max_concurrency, "highest concurrency the sweep tries (and the runner's slots)")
      ->capture_default_str();
  cmd->add_option("--requests-per-client", o.requests_per_client, "requests each client sends per step")->capture_default_str();
  cmd->add_option("--min-growth", o.min_growth, "stop when tokens/s grows by less than this fraction")->capture_default_str();
  cmd->add_option("--threads", o.threads, "runner compute threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--gpu-layers", o.gpu_layers, "layers on accelerators (-1 = all)")->capture_default_str();
  cmd->add_option("--max-devices", o.max_devices, "most devices of one type a rate may need")->capture_default_str();
  cmd->add_option("--accelerator-memory-mib", o.accelerator_memory_mib,
                  "memory of the device a copy is placed on, for the spec's accelerators share (0: the device at hand; "
                  "a CPU-only copy on the CPU)")->capture_default_str();
  cmd->add_option("--host-bandwidth-gbs", o.host_bandwidth_gbs, "host read bandwidth for the CPU roofline (0: measure)")
      ->capture_default_str();
  cmd->callback([f] { throw CLI::RuntimeError(Run(*f)); });
}

}  // namespace cohost::cli
