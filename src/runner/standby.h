// Standby: a runner process started before it is needed. It links and initialises the compute
// runtime, brings up its devices (on a GPU: the CUDA context, the part of a cold start that does
// not depend on the model), then waits on its socket for the copy it will become.
//
//   GET  /healthz        {"status":"standby","devices_ready":bool}
//   POST /standby/start  {"args": ["runner", "--model", ...], "log_path": "..."}
//                        -> 200 {"pid": N}; the process then becomes that runner: its output is
//                           appended to log_path and the args are run as `cohost runner` would.
//
// A standby accepts exactly one start; it exits when its parent dies (with --exit-with-parent)
// or on SIGTERM while waiting. Device bring-up runs beside the server, so a start that arrives
// while it is still under way is taken at once and acted on as soon as the devices are up.
//
// Thread safety: RunStandby blocks its caller; its HTTP thread only hands the start over.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "net/http_server.h"

namespace cohost::runner {

struct StandbyOptions {
  net::ServerOptions server;  // a Unix socket, in practice
  bool verbose = false;
};

struct StandbyStart {
  std::vector<std::string> args;  // argv without the program: "runner", then its flags
  std::string log_path;           // empty: keep the current output
};

// Parses a start request body. Errors: kInvalidArgument naming the field ("args" must be a
// non-empty array of strings starting with "runner"; "log_path" a string when present).
StatusOr<StandbyStart> ParseStandbyStart(const std::string& body);

// Brings the devices up and waits for a start. Returns it, or kCancelled when the standby was
// told to stop (SIGTERM, SIGINT) first; kUnavailable when the socket cannot be bound.
StatusOr<StandbyStart> RunStandby(const StandbyOptions& options);

// Appends this process's stdout and stderr to `path` from now on. Errors: kUnavailable.
Status RedirectOutput(const std::string& path);

}  // namespace cohost::runner
