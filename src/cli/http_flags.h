// The HTTP limit flags `cohost serve` and `cohost runner` share (net/http_limits.h).
#pragma once

#include <CLI/CLI.hpp>

#include "net/http_limits.h"

namespace cohost::cli {

// Adds --http-max-connections, --http-header-timeout-s, --http-body-timeout-s,
// --http-idle-timeout-s and --drain-timeout-s to `cmd`, writing into `limits` (which must
// outlive parsing).
void AddHttpLimitFlags(CLI::App* cmd, net::HttpLimits& limits);

}  // namespace cohost::cli
