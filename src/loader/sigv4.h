// AWS Signature Version 4 for S3 requests (header-based auth, "AWS4-HMAC-SHA256").
//
// Pure functions: the time is an argument, nothing is read from the environment. Hashing and
// HMAC use OpenSSL. Verified against AWS's published "GET /test.txt" example (sigv4_test.cc).
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <string>
#include <string_view>

namespace cohost::loader {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional (temporary credentials); sent as x-amz-security-token
};

struct SigV4Request {
  std::string method = "GET";
  std::string canonical_uri = "/";  // already URI-encoded path, e.g. "/bucket/key"
  std::string canonical_query;      // already sorted and encoded; empty when none
  // Headers to sign, any case; "host" must be present. x-amz-date, x-amz-content-sha256 (and
  // x-amz-security-token with a session token) are added by Sign.
  std::map<std::string, std::string> headers;
  std::string payload_sha256_hex;   // hex SHA-256 of the body; empty means the empty body
};

struct SigV4Result {
  std::string authorization;           // the Authorization header value
  std::map<std::string, std::string> headers;  // every signed header, lower-case names, to send
  std::string canonical_request;       // for debugging and tests
  std::string string_to_sign;
};

// Signs `request` for `region`/`service` at `when` (UTC seconds since the epoch).
SigV4Result SignV4(const SigV4Request& request, const AwsCredentials& credentials,
                   std::string_view region, std::string_view service, std::time_t when);

// Hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// "20130524T000000Z" for `when`.
std::string AmzDate(std::time_t when);
// URI-encodes an S3 key path (RFC 3986 unreserved kept; '/' kept when keep_slash).
std::string UriEncode(std::string_view s, bool keep_slash);

}  // namespace cohost::loader
