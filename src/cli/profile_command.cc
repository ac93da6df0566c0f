#include "cli/profile_command.h"

namespace cohost::cli {
// Placeholder: registered so that main.cc is final; the subcommand lands with its issue.
void AddProfileCommand(CLI::App& app) { (void)app; }
}  // namespace cohost::cli
