#include "cli/simulate_command.h"

namespace cohost::cli {
// Placeholder: registered so that main.cc is final; the subcommand lands with its issue.
void AddSimulateCommand(CLI::App& app) { (void)app; }
}  // namespace cohost::cli
