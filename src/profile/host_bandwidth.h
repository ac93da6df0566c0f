// Host memory read bandwidth, measured: the roofline of the device at hand when it is the CPU.
// Thread safety: starts and joins its own threads.
#pragma once

#include <cstddef>

namespace cohost::profile {

// Bytes per second read by `threads` threads summing a `bytes` buffer (touched first, so it is
// resident), best of `repeats`. REQUIRES: bytes >= 1 MiB, threads >= 1, repeats >= 1.
double MeasureReadBandwidth(size_t bytes, int threads, int repeats = 3);

}  // namespace cohost::profile
