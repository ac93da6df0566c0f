#include "loader/file_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cohost::loader {

Status CheckRange(const ByteSource& src, uint64_t offset, size_t len) {
  if (offset > src.size() || len > src.size() - offset) {
    return InvalidArgument("range", "bytes " + std::to_string(offset) + "+" + std::to_string(len) +
                                        " lie outside " + src.uri() + " (" +
                                        std::to_string(src.size()) + " bytes)");
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return NotFound("model file not found: " + path);
    return Internal("cannot open " + path + ": " + std::strerror(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument("model", path + " is not a regular file");
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<FileSource>(new FileSource(fd, static_cast<uint64_t>(st.st_size), path));
}

FileSource::~FileSource() { ::close(fd_); }

Status FileSource::ReadAt(uint64_t offset, void* dst, size_t len) const {
  RETURN_IF_ERROR(CheckRange(*this, offset, len));
  auto* out = static_cast<char*>(dst);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd_, out + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Internal("read failed on " + path_ + ": " + std::strerror(errno));
    }
    if (n == 0) {
      return DataLoss(path_ + " ended at byte " + std::to_string(offset + done) + ", expected " +
                      std::to_string(offset + len));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace cohost::loader
