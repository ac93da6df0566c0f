// Control-plane subcommands that talk to a running `cohost serve` over its JSON API:
//   cohost endpoint create|list|describe|delete
//   cohost component create|list|describe|update|delete
//   cohost events
// Each takes --server host:port (default 127.0.0.1:8080) and --output table|json.
#pragma once

#include <CLI/CLI.hpp>

namespace cohost::cli {
void AddControlCommands(CLI::App& app);
}
