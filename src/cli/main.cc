// The cohost command line: one binary, one subcommand per role.
#include <CLI/CLI.hpp>

#include "cli/artifact_commands.h"
#include "cli/control_commands.h"
#include "cli/devices_command.h"
#include "cli/make_model_command.h"
#include "cli/memory_need_command.h"
#include "cli/profile_command.h"
#include "cli/runner_command.h"
#include "cli/serve_command.h"
#include "cli/simulate_command.h"

int main(int argc, char** argv) {
  CLI::App app{"cohost: serve many LLMs on shared accelerators (llama.cpp underneath)"};
  app.require_subcommand(1);
  cohost::cli::AddRunnerCommand(app);
  cohost::cli::AddMakeModelCommand(app);
  cohost::cli::AddDevicesCommand(app);
  cohost::cli::AddServeCommand(app);
  cohost::cli::AddControlCommands(app);
  cohost::cli::AddArtifactCommands(app);
  cohost::cli::AddProfileCommand(app);
  cohost::cli::AddMemoryNeedCommand(app);
  cohost::cli::AddSimulateCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
