// FileSource: a local file read with pread (no mmap; the page cache does the caching).
#pragma once

#include <memory>
#include <string>

#include "loader/byte_source.h"

namespace cohost::loader {

class FileSource : public ByteSource {
 public:
  // Opens `path`. Errors: kNotFound (no such file), kInvalidArgument (not a regular file),
  // kInternal (open/stat failed otherwise; errno text included).
  static StatusOr<std::unique_ptr<FileSource>> Open(const std::string& path);
  ~FileSource() override;

  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, void* dst, size_t len) const override;
  const std::string& uri() const override { return path_; }
  bool small_reads_are_cheap() const override { return true; }

 private:
  FileSource(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  const int fd_;
  const uint64_t size_;
  const std::string path_;
};

}  // namespace cohost::loader
