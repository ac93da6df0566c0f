// cohost pack / cohost push: packed model artifacts (issue 5)
#pragma once

#include <CLI/CLI.hpp>

namespace cohost::cli {
void AddArtifactCommands(CLI::App& app);
}
