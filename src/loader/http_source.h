// HttpSource: an HTTP(S) URL read with ranged GETs (libcurl). Also the transport for S3Source,
// which adds SigV4 headers through a RequestSigner.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "loader/byte_source.h"

namespace cohost::loader {

struct HttpOptions {
  // Connecting (TCP + TLS) fails after this long.
  long connect_timeout_ms = 10000;
  // A transfer that moves less than one byte per second for this long fails with
  // kDeadlineExceeded (a stalled server).
  long stall_timeout_s = 30;
};

// Sets the options every cohost transfer on `curl` shares: `options`' connect and stall timeouts,
// no signals, and `error_buffer` (CURL_ERROR_SIZE bytes) for curl's message.
void SetTransferOptions(void* curl, const HttpOptions& options, char* error_buffer);

// Returns extra header lines ("Name: value") for one request; `range` is the Range header value
// ("bytes=a-b") or empty. Called from any reading thread; must be thread-safe.
using RequestSigner =
    std::function<std::vector<std::string>(const std::string& method, const std::string& range)>;

class HttpSource : public ByteSource {
 public:
  // Asks the server for the size (a one-byte ranged GET). Errors as for ReadAt, plus
  // kFailedPrecondition when the server ignores Range or reports no total size. `display_uri` names the artifact in errors (default: url).
  static StatusOr<std::unique_ptr<HttpSource>> Open(const std::string& url, HttpOptions options,
                                                    RequestSigner signer = nullptr,
                                                    std::string display_uri = {});

  uint64_t size() const override { return size_; }
  // One ranged GET; a server that ignores Range (200 instead of 206) is an error.
  Status ReadAt(uint64_t offset, void* dst, size_t len) const override;
  const std::string& uri() const override { return display_uri_; }

 private:
  HttpSource(std::string url, HttpOptions options, RequestSigner signer, std::string display_uri)
      : url_(std::move(url)), options_(options), signer_(std::move(signer)),
        display_uri_(std::move(display_uri)) {}
  Status Request(const std::string& method, const std::string& range, void* dst, size_t len,
                 uint64_t* total_size) const;

  const std::string url_;
  const HttpOptions options_;
  const RequestSigner signer_;
  const std::string display_uri_;
  uint64_t size_ = 0;  // set once in Open
};

}  // namespace cohost::loader
