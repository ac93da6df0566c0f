#include "loader/http_source.h"

#include <curl/curl.h>

#include <strings.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace cohost::loader {

void SetTransferOptions(void* curl, const HttpOptions& options, char* error_buffer) {
  CURL* h = static_cast<CURL*>(curl);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, options.stall_timeout_s);
}
namespace {

constexpr size_t kReceiveBuffer = size_t{512} << 10;  // libcurl's largest before 7.88

struct CurlHandle {
  CURL* h = nullptr;
  CurlHandle() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    h = curl_easy_init();
  }
  ~CurlHandle() { curl_easy_cleanup(h); }
};

// One handle per reading thread: curl_easy_reset keeps its connection cache, so consecutive
// ranged reads reuse a keep-alive connection.
CURL* ThreadHandle() {
  thread_local CurlHandle handle;
  curl_easy_reset(handle.h);
  return handle.h;
}

struct Sink {
  CURL* handle;
  char* dst;
  size_t cap;
  size_t got = 0;
  bool overflow = false;
  bool discard = false;  // an error response: its body is not data
  bool checked = false;
  int64_t total = -1;        // from Content-Range
  int64_t range_start = -1;  // the first byte Content-Range says the body holds
};

size_t Header(char* p, size_t size, size_t n, void* ud) {
  auto* s = static_cast<Sink*>(ud);
  std::string line(p, size * n);
  if (line.size() > 14 && strncasecmp(line.c_str(), "content-range:", 14) == 0) {
    size_t slash = line.find('/');
    if (slash != std::string::npos) s->total = std::strtoll(line.c_str() + slash + 1, nullptr, 10);
    size_t unit = line.find("bytes ");
    if (unit != std::string::npos && unit < slash) s->range_start = std::strtoll(line.c_str() + unit + 6, nullptr, 10);
  }
  return size * n;
}

size_t Write(char* p, size_t size, size_t n, void* ud) {
  auto* s = static_cast<Sink*>(ud);
  size_t bytes = size * n;
  if (!s->checked) {
    s->checked = true;
    long status = 0;
    curl_easy_getinfo(s->handle, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200) return 0;  // Range ignored: stop before the whole artifact arrives
    s->discard = status != 206;
  }
  if (s->discard) return bytes;
  if (s->got + bytes > s->cap) {
    s->overflow = true;
    return 0;  // aborts the transfer
  }
  std::memcpy(s->dst + s->got, p, bytes);
  s->got += bytes;
  return bytes;
}

}  // namespace

StatusOr<std::unique_ptr<HttpSource>> HttpSource::Open(const std::string& url, HttpOptions options,
                                                       RequestSigner signer,
                                                       std::string display_uri) {
  if (display_uri.empty()) display_uri = url;
  std::unique_ptr<HttpSource> s(
      new HttpSource(url, options, std::move(signer), std::move(display_uri)));
  // The size from a one-byte ranged GET (Content-Range: bytes 0-0/SIZE): it also proves the
  // server honours Range, and needs no HEAD support.
  // (bytes=0-1, not 0-0: some S3-compatible servers answer 0-0 with the whole object.)
  char first[2] = {};
  uint64_t length = 0;
  RETURN_IF_ERROR(s->Request("GET", "bytes=0-1", first, 2, &length));
  s->size_ = length;
  return s;
}

Status HttpSource::ReadAt(uint64_t offset, void* dst, size_t len) const {
  RETURN_IF_ERROR(CheckRange(*this, offset, len));
  if (len == 0) return Status::Ok();
  const std::string range =
      "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + len - 1);
  return Request("GET", range, dst, len, nullptr);
}

Status HttpSource::Request(const std::string& method, const std::string& range, void* dst,
                           size_t len, uint64_t* content_length) const {
  CURL* h = ThreadHandle();
  curl_slist* headers = nullptr;
  if (!range.empty()) headers = curl_slist_append(headers, ("Range: " + range).c_str());
  if (signer_) {
    for (const std::string& line : signer_(method, range)) headers = curl_slist_append(headers, line.c_str());
  }
  Sink sink{h, static_cast<char*>(dst), len};
  char err[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  SetTransferOptions(h, options_, err);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &Header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
  // Receive in large pieces: with curl's default 16 KiB a chunk costs hundreds of reads and
  // callbacks, CPU the server on the same machine (a loopback store) then lacks.
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, static_cast<long>(std::clamp<size_t>(len, 16384, kReceiveBuffer)));
  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(headers);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  const std::string what = method + " " + display_uri_ + (range.empty() ? "" : " (" + range + ")");
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Status(StatusCode::kDeadlineExceeded,
                  what + ": the server stalled (no data for " +
                      std::to_string(options_.stall_timeout_s) + " s)");
  }
  if (status == 404) return NotFound(what + ": not found (HTTP 404)");
  if (status == 403 || status == 401) {
    return Status(StatusCode::kFailedPrecondition,
                  what + ": access denied (HTTP " + std::to_string(status) + "); check credentials");
  }
  if (status == 200) {
    return Status(StatusCode::kFailedPrecondition,
                  what + ": the server ignored the Range header (HTTP 200); it must support ranged GETs");
  }
  if (rc == CURLE_WRITE_ERROR && sink.overflow) {
    return DataLoss(what + ": the server sent more than the " + std::to_string(len) + " bytes asked for");
  }
  if (rc != CURLE_OK) {
    return Unavailable(what + ": " + (err[0] ? err : curl_easy_strerror(rc)));
  }
  if (status < 200 || status >= 300) {
    return Unavailable(what + ": HTTP " + std::to_string(status));
  }
  if (status != 206) {
    return Status(StatusCode::kFailedPrecondition,
                  what + ": the server ignored the Range header (HTTP " + std::to_string(status) + ")");
  }
  if (range.rfind("bytes=", 0) == 0 && sink.range_start >= 0 &&
      sink.range_start != std::strtoll(range.c_str() + 6, nullptr, 10)) {
    return DataLoss(what + ": the server answered with another range (Content-Range starts at byte " +
                    std::to_string(sink.range_start) + ")");
  }
  if (sink.got != len && !(content_length && sink.got > 0)) {  // the size probe may get less
    return DataLoss(what + ": got " + std::to_string(sink.got) + " of " + std::to_string(len) +
                    " bytes (truncated artifact?)");
  }
  if (content_length) {
    if (sink.total < 0) {
      return Status(StatusCode::kFailedPrecondition, what + ": no total size in Content-Range");
    }
    *content_length = static_cast<uint64_t>(sink.total);
  }
  return Status::Ok();
}

}  // namespace cohost::loader
