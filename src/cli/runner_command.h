// `cohost runner`: serve one model (see runner/runner_main.h).
#pragma once

#include <CLI/CLI.hpp>

namespace cohost::cli {
void AddRunnerCommand(CLI::App& app);
}
