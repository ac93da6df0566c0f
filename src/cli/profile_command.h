// `cohost profile`: measure a model and recommend its reservation (issue 6)
#pragma once

#include <CLI/CLI.hpp>

namespace cohost::cli {
void AddProfileCommand(CLI::App& app);
}
