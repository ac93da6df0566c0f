// `cohost make-model`: writes a synthetic GGUF model (see engine/synthetic_model.h).
#pragma once

#include <CLI/CLI.hpp>

namespace cohost::cli {
void AddMakeModelCommand(CLI::App& app);
}
