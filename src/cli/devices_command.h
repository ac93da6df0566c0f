// `cohost devices`: the devices of this node (discovered, plus virtual ones from an inventory).
#pragma once

#include <CLI/CLI.hpp>

namespace cohost::cli {
void AddDevicesCommand(CLI::App& app);
}
