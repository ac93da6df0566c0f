// `cohost profile MODEL ...`: measure a model and recommend its reservation, copies and cost per
// device type (issue 6; docs/profile.md). Exit status: 0 done (warnings, such as an objective no
// concurrency meets or a rate no device type serves, are printed and included in the output);
// 1 the model does not load or serve; 2 bad options or a bad device catalog.
#pragma once

#include <CLI/CLI.hpp>

namespace cohost::cli {
void AddProfileCommand(CLI::App& app);
}
