// DiskCache: local copies of artifacts fetched over HTTP or S3, so the next copy on this node
// loads at local speed.
//
// Layout: <dir>/<sha256(uri)[0:32]>.gguf (+ ".manifest.json" when the artifact had one), a
// "<entry>.lock" file per entry, and "<entry>.tmp.<pid>" while filling. Entries appear atomically
// (written to the temp file, fsynced, renamed). Size bound: before filling, least recently used
// entries (by mtime, refreshed on every use) are removed until the new one fits.
// Concurrency: Lock() takes an exclusive flock on the entry's lock file, so two processes loading
// one artifact at once do not both download it: the second waits, then finds the entry.
// Thread safety: all methods may be called from any thread; entries are guarded by flock.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "loader/byte_source.h"

namespace cohost::loader {

struct DiskCacheOptions {
  std::string dir;                         // empty: no disk cache
  uint64_t max_bytes = uint64_t{20} << 30;  // total size bound of the entries
};

// An exclusive lock on one entry; released on destruction.
class CacheLock {
 public:
  explicit CacheLock(int fd) : fd_(fd) {}
  ~CacheLock();
  CacheLock(const CacheLock&) = delete;
  CacheLock& operator=(const CacheLock&) = delete;

 private:
  int fd_;
};

class DiskCache {
 public:
  // Creates the directory if needed. Errors: kInvalidArgument (field "cache-dir") when it cannot
  // be created or written.
  static StatusOr<std::unique_ptr<DiskCache>> Open(const DiskCacheOptions& options);

  std::string PathFor(const std::string& uri) const;
  // Blocks until this process holds the entry's lock.
  StatusOr<std::unique_ptr<CacheLock>> Lock(const std::string& uri) const;
  // Whether the entry exists; refreshes its mtime (LRU) when it does.
  bool Has(const std::string& uri) const;
  void Remove(const std::string& uri) const;
  // Removes least recently used entries (never `keep_uri`'s) until `bytes` more fit.
  // Errors: kResourceExhausted when `bytes` exceeds the bound by itself.
  Status MakeRoom(uint64_t bytes, const std::string& keep_uri) const;
  uint64_t max_bytes() const { return options_.max_bytes; }

 private:
  explicit DiskCache(DiskCacheOptions o) : options_(std::move(o)) {}
  const DiskCacheOptions options_;
};

// Wraps a remote source and writes every byte read through it into a temp file for a cache
// entry; Commit() fetches what was never read (header gaps, padding), fsyncs and renames the file
// into place. A write error (disk full) stops caching but not reading; Commit() then reports it.
class CachingSource : public ByteSource {
 public:
  // Errors: kInternal when the temp file cannot be created (named).
  static StatusOr<std::unique_ptr<CachingSource>> Create(const ByteSource& inner, std::string final_path);
  ~CachingSource() override;  // removes the temp file unless committed

  uint64_t size() const override { return inner_.size(); }
  Status ReadAt(uint64_t offset, void* dst, size_t len) const override;
  const std::string& uri() const override { return inner_.uri(); }

  // Completes the entry. Errors: the write error that stopped caching (e.g. disk full), or the
  // inner source's read errors while filling gaps.
  Status Commit();

 private:
  CachingSource(const ByteSource& inner, std::string final_path, std::string tmp_path, int fd)
      : inner_(inner), final_path_(std::move(final_path)), tmp_path_(std::move(tmp_path)), fd_(fd) {}
  Status Write(uint64_t offset, const void* data, size_t len) const;

  const ByteSource& inner_;
  const std::string final_path_;
  const std::string tmp_path_;
  const int fd_;
  mutable std::mutex mu_;
  mutable std::vector<std::pair<uint64_t, uint64_t>> written_;  // [begin, end), guarded by mu_
  mutable Status write_error_;                                  // guarded by mu_
  bool committed_ = false;
};

}  // namespace cohost::loader
