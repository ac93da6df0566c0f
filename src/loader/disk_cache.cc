#include "loader/disk_cache.h"

#include <cstdlib>

#include <signal.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "loader/manifest.h"

namespace cohost::loader {

namespace fs = std::filesystem;

CacheLock::~CacheLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

StatusOr<std::unique_ptr<DiskCache>> DiskCache::Open(const DiskCacheOptions& options) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec || ::access(options.dir.c_str(), W_OK) != 0) {
    return InvalidArgument("cache-dir", "cannot create or write " + options.dir +
                                            (ec ? ": " + ec.message() : std::string()));
  }
  return std::unique_ptr<DiskCache>(new DiskCache(options));
}

std::string DiskCache::PathFor(const std::string& uri) const {
  return options_.dir + "/" + Sha256HexOf(uri.data(), uri.size()).substr(0, 32) + ".gguf";
}

StatusOr<std::unique_ptr<CacheLock>> DiskCache::Lock(const std::string& uri) const {
  const std::string path = PathFor(uri) + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("cannot open cache lock " + path + ": " + std::strerror(errno));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      int e = errno;
      ::close(fd);
      return Internal("cannot lock " + path + ": " + std::strerror(e));
    }
  }
  return std::make_unique<CacheLock>(fd);
}

bool DiskCache::Has(const std::string& uri) const {
  std::error_code ec;
  const std::string path = PathFor(uri);
  if (!fs::is_regular_file(path, ec)) return false;
  fs::last_write_time(path, fs::file_time_type::clock::now(), ec);  // most recently used
  return true;
}

void DiskCache::Remove(const std::string& uri) const {
  std::error_code ec;
  fs::remove(PathFor(uri), ec);
  fs::remove(ManifestUriFor(PathFor(uri)), ec);
}

Status DiskCache::MakeRoom(uint64_t bytes, const std::string& keep_uri) const {
  if (bytes > options_.max_bytes) {
    return Status(StatusCode::kResourceExhausted,
                  "artifact of " + std::to_string(bytes) + " bytes exceeds the disk cache bound of " +
                      std::to_string(options_.max_bytes));
  }
  struct Entry {
    fs::path path;
    uint64_t size;
    fs::file_time_type used;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  std::error_code ec;
  const fs::path keep = PathFor(keep_uri);
  for (const auto& e : fs::directory_iterator(options_.dir, ec)) {
    // "<hash>.gguf.tmp.<pid>": a download in progress counts against the bound; one whose
    // process is gone (killed mid-download) is removed.
    const std::string name = e.path().filename().string();
    if (size_t t = name.find(".gguf.tmp."); t != std::string::npos) {
      pid_t pid = static_cast<pid_t>(std::strtol(name.c_str() + t + 10, nullptr, 10));
      if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
        fs::remove(e.path(), ec);
      } else {
        total += e.file_size(ec);
      }
      continue;
    }
    if (e.path().extension() != ".gguf" || e.path() == keep) continue;
    uint64_t size = e.file_size(ec);
    entries.push_back({e.path(), size, e.last_write_time(ec)});
    total += size;
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.used < b.used; });
  for (const Entry& e : entries) {
    if (total + bytes <= options_.max_bytes) break;
    fs::remove(e.path, ec);
    fs::remove(e.path.string() + ".manifest.json", ec);
    total -= e.size;
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<CachingSource>> CachingSource::Create(const ByteSource& inner, std::string final_path) {
  std::string tmp = final_path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("cannot create cache file " + tmp + ": " + std::strerror(errno));
  return std::unique_ptr<CachingSource>(new CachingSource(inner, std::move(final_path), std::move(tmp), fd));
}

CachingSource::~CachingSource() {
  ::close(fd_);
  if (!committed_) ::unlink(tmp_path_.c_str());
}

Status CachingSource::Write(uint64_t offset, const void* data, size_t len) const {
  const char* p = static_cast<const char*>(data);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd_, p + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status(StatusCode::kResourceExhausted,
                    "cannot write the disk cache file " + tmp_path_ + ": " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status CachingSource::ReadAt(uint64_t offset, void* dst, size_t len) const {
  RETURN_IF_ERROR(inner_.ReadAt(offset, dst, len));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!write_error_.ok()) return Status::Ok();
  }
  Status w = Write(offset, dst, len);
  std::lock_guard<std::mutex> lock(mu_);
  if (!w.ok()) {
    if (write_error_.ok()) write_error_ = w;
  } else {
    written_.emplace_back(offset, offset + len);
  }
  return Status::Ok();
}

Status CachingSource::Commit() {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(write_error_);
    ranges = written_;
  }
  std::sort(ranges.begin(), ranges.end());
  std::vector<char> buf(size_t{8} << 20);
  uint64_t at = 0;
  auto fill = [&](uint64_t from, uint64_t to) -> Status {
    while (from < to) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), to - from));
      RETURN_IF_ERROR(inner_.ReadAt(from, buf.data(), n));
      RETURN_IF_ERROR(Write(from, buf.data(), n));
      from += n;
    }
    return Status::Ok();
  };
  for (const auto& [b, e] : ranges) {
    if (b > at) RETURN_IF_ERROR(fill(at, b));
    at = std::max(at, e);
  }
  RETURN_IF_ERROR(fill(at, size()));
  if (::fsync(fd_) != 0) return Status(StatusCode::kResourceExhausted, "cannot fsync " + tmp_path_);
  if (::rename(tmp_path_.c_str(), final_path_.c_str()) != 0) {
    return Internal("cannot rename " + tmp_path_ + " to " + final_path_ + ": " + std::strerror(errno));
  }
  committed_ = true;
  return Status::Ok();
}

}  // namespace cohost::loader
