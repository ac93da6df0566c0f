#include "loader/s3_upload.h"

#include <curl/curl.h>

#include <cstdio>
#include <filesystem>

#include "loader/source_uri.h"

namespace cohost::loader {

Status PutObject(const S3Config& config, const std::string& bucket, const std::string& key,
                 const std::string& local_path, const HttpOptions& http) {
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(local_path, ec);
  if (ec) return NotFound("cannot upload " + local_path + ": " + ec.message());
  FILE* f = std::fopen(local_path.c_str(), "rb");
  if (!f) return NotFound("cannot open " + local_path);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* h = curl_easy_init();
  curl_slist* headers = nullptr;
  for (const std::string& line : S3Signer(config, bucket, key)("PUT", "")) {
    headers = curl_slist_append(headers, line.c_str());
  }
  headers = curl_slist_append(headers, "Expect:");
  const std::string url = S3ObjectUrl(config, bucket, key);
  char err[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READDATA, f);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  SetTransferOptions(h, http, err);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  std::fclose(f);
  const std::string what = "PUT s3://" + bucket + "/" + key;
  if (rc != CURLE_OK) return Unavailable(what + ": " + (err[0] ? err : curl_easy_strerror(rc)));
  if (status == 404) return NotFound(what + ": no such bucket (HTTP 404)");
  if (status == 403) return Status(StatusCode::kFailedPrecondition, what + ": access denied (HTTP 403)");
  if (status < 200 || status >= 300) return Unavailable(what + ": HTTP " + std::to_string(status));
  return Status::Ok();
}

}  // namespace cohost::loader
