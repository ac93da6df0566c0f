// `cohost memory-need` (internal): one copy's memory need from a llama.cpp dry run, as JSON.
//
// `cohost serve` runs it as a short-lived child instead of running the dry run itself, so that
// serve never creates a GPU context (agent/engine_child.h). Hidden from --help; the output is an
// internal contract with agent::ParseMemoryNeedJson, not a stable interface.
#pragma once

#include <CLI/CLI.hpp>

namespace cohost::cli {
void AddMemoryNeedCommand(CLI::App& app);
}
