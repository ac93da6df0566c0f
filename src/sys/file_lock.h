// FileLock: an exclusive advisory lock (flock) on a file, held for the lock object's life, that
// records its holder's PID in the file. `cohost serve` takes one on its data directory so that
// two servers never reconcile one state.db (each would start its own runners for every copy).
//
// The lock belongs to the open file (O_CLOEXEC, so runner children do not inherit it) and ends
// when the object is destroyed or the process dies, however it dies: a stale lock file from a
// killed server never blocks the next one.
// Thread safety: none needed; create and destroy it on one thread.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace cohost::sys {

class FileLock {
 public:
  // Takes the lock on `path` (created if absent) without waiting and writes this process's PID
  // into it. Errors: kFailedPrecondition when another open file holds it, naming the holder's
  // PID as recorded in the file (or "unknown"); kInternal (with errno's text) when the file
  // cannot be opened or locked.
  static StatusOr<std::unique_ptr<FileLock>> Acquire(const std::string& path);
  ~FileLock();  // releases the lock (the file stays)
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  const int fd_;
};

}  // namespace cohost::sys
