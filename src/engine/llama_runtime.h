// Process-wide llama.cpp set-up: backend initialisation and log routing.
//
// llama.cpp and ggml log through one callback. cohost keeps them quiet unless verbose, but always
// remembers the most recent error lines so that a failed load can say why.
#pragma once

#include <string>

namespace cohost::engine {

// Initialises the llama.cpp backends once. Call from main() before any other engine call.
// verbose: forward llama.cpp's own log lines to stderr.
void InitLlamaRuntime(bool verbose);

// The error and warning lines llama.cpp logged on the calling thread since the last call
// (joined with "; "), then clears them. Used to explain a failed load.
std::string TakeLlamaErrors();

}  // namespace cohost::engine
