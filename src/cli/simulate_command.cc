#include "cli/simulate_command.h"

#include <cstdio>
#include <memory>
#include <string>

#include "sim/report.h"
#include "sim/scenario.h"
#include "sim/simulate.h"

namespace cohost::cli {
namespace {

struct SimulateFlags {
  std::string scenario;
  std::string output = "text";
  std::string svg_dir;
  std::vector<std::string> strategies;
  int64_t seed = -1;
};

int Run(const SimulateFlags& f) {
  auto scenario = sim::LoadScenario(f.scenario);
  if (!scenario.ok()) {
    fprintf(stderr, "error: %s: %s\n", f.scenario.c_str(), scenario.status().message().c_str());
    return 2;
  }
  if (f.seed >= 0) scenario->seed = static_cast<uint64_t>(f.seed);
  sim::SimulateOptions options;
  for (const std::string& name : f.strategies) {
    auto kind = sim::ParseStrategy(name, "--strategy");
    if (!kind.ok()) {
      fprintf(stderr, "error: --strategy: %s\n", kind.status().message().c_str());
      return 2;
    }
    options.strategies.push_back(*kind);
  }
  auto report = sim::Simulate(*scenario, options);
  if (!report.ok()) {
    fprintf(stderr, "error: %s: %s\n", f.scenario.c_str(), report.status().message().c_str());
    return report.status().code() == StatusCode::kInternal ? 1 : 2;
  }
  if (f.output == "json") {
    printf("%s\n", sim::RenderJson(*report).dump(2).c_str());
  } else {
    printf("%s", sim::RenderText(*report).c_str());
  }
  if (!f.svg_dir.empty()) {
    Status st = sim::WriteSvgCharts(*report, f.svg_dir);
    if (!st.ok()) {
      fprintf(stderr, "error: --svg: %s\n", st.message().c_str());
      return 1;
    }
    if (f.output != "json") printf("charts: %s/{copies,utilisation,cost}.svg\n", f.svg_dir.c_str());
  }
  return 0;
}

}  // namespace

void AddSimulateCommand(CLI::App& app) {
  auto flags = std::make_shared<SimulateFlags>();
  CLI::App* cmd = app.add_subcommand(
      "simulate", "Replay a scenario's traffic against the live placement, routing and scaling "
                  "policies and compare strategies by cost, SLOs and cold starts");
  cmd->add_option("scenario", flags->scenario, "Scenario YAML (see docs/simulate.md)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--output", flags->output, "Report format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--svg", flags->svg_dir, "Write copies.svg, utilisation.svg, cost.svg here");
  cmd->add_option("--strategy", flags->strategies,
                  "Run only these (dedicated, shared_static, inference_components, hybrid); "
                  "repeatable");
  cmd->add_option("--seed", flags->seed, "Override the scenario's seed")->check(CLI::NonNegativeNumber);
  cmd->callback([flags]() { throw CLI::RuntimeError(Run(*flags)); });
}

}  // namespace cohost::cli
