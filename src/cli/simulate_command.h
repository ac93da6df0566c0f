// `cohost simulate`: replay traffic against the live policies (issue 7)
#pragma once

#include <CLI/CLI.hpp>

namespace cohost::cli {
void AddSimulateCommand(CLI::App& app);
}
