// ByteSource: a sized, randomly readable artifact (a local file, an HTTP(S) URL, an S3 object).
//
// The loader reads GGUF headers and tensor data through this interface with ranged reads, many at
// once, so implementations must be safe for concurrent ReadAt calls.
// Thread safety: every method may be called from any thread, concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace cohost::loader {

class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // Size of the artifact in bytes (fetched once and remembered).
  virtual uint64_t size() const = 0;

  // Reads exactly `len` bytes at `offset` into `dst`. Errors:
  //   kInvalidArgument   the range is outside [0, size());
  //   kNotFound          the artifact is gone (404, deleted file);
  //   kFailedPrecondition access denied (403);
  //   kDeadlineExceeded  the server stalled past the configured timeout;
  //   kDataLoss          fewer bytes came back than asked for (truncated artifact);
  //   kUnavailable       any other transport error (message names it).
  virtual Status ReadAt(uint64_t offset, void* dst, size_t len) const = 0;

  // The URI it reads, for logs and errors (credentials never included).
  virtual const std::string& uri() const = 0;

  // True when a small read costs about a system call (a local file), so a reader may split a
  // range into many reads; false when each read is a request (HTTP, S3).
  virtual bool small_reads_are_cheap() const { return false; }
};

// Checks that [offset, offset+len) lies within `size`; the error names the uri and the range.
Status CheckRange(const ByteSource& src, uint64_t offset, size_t len);

}  // namespace cohost::loader
