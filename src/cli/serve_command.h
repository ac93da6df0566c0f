// `cohost serve`: control plane, node agent and router in one process (DESIGN.md, Processes).
#pragma once

#include <CLI/CLI.hpp>

namespace cohost::cli {
void AddServeCommand(CLI::App& app);
}
