#include "cli/http_flags.h"

namespace cohost::cli {

void AddHttpLimitFlags(CLI::App* cmd, net::HttpLimits& limits) {
  cmd->add_option("--http-max-connections", limits.max_connections,
                  "connections served at once; more are answered 503 and closed (0: half the open-file "
                  "limit, at most 10000)")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--http-header-timeout-s", limits.header_timeout_s,
                  "a request's headers must arrive within this long of its first byte, else 408 (0: no limit)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--http-body-timeout-s", limits.body_timeout_s,
                  "a request's body must arrive within this long after its headers, else 408 (0: no limit)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--http-idle-timeout-s", limits.idle_timeout_s,
                  "close a connection that sends no request for this long (0: never)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--drain-timeout-s", limits.drain_timeout_s,
                  "on SIGTERM, let in-flight requests finish for up to this long, then end open streams "
                  "with an error event and [DONE]")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
}

}  // namespace cohost::cli
