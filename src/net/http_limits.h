// HttpLimits: what one HTTP server lets its clients hold, and how long it waits for them.
//
// Serve and runner fill this from the same flags (cli/http_flags.h), so both processes answer
// hostile clients the same way. Every limit is explicit; 0 disables a timeout.
#pragma once

#include <cstddef>

namespace cohost::net {

struct HttpLimits {
  // Connections served at once. Past it a new connection is answered 503 and closed at once.
  // 0: automatic, half the process's descriptor limit (leaving the rest for runners' sockets,
  // model files and the store), at most 10000.
  int max_connections = 0;
  // From a request's first byte until its headers are complete; past it: 408 and close.
  double header_timeout_s = 30;
  // From the end of the headers until the whole body is read; past it: 408 and close.
  double body_timeout_s = 60;
  // Waiting for a request's first byte (a new or kept-alive connection); past it: close.
  double idle_timeout_s = 60;
  // After SIGTERM: how long in-flight requests may run before their streams are ended with an
  // error event and [DONE] (and requests with no answer yet get 503).
  double drain_timeout_s = 30;
};

// The connection cap `limits` means in a process allowed `descriptors` open files.
int EffectiveMaxConnections(const HttpLimits& limits, long descriptors);

}  // namespace cohost::net
