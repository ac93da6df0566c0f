// Opening a model URI as a ByteSource: a plain path or file://, http(s)://, s3://bucket/key.
#pragma once

#include <memory>
#include <string>

#include "loader/byte_source.h"
#include "loader/http_source.h"
#include "loader/s3_config.h"

namespace cohost::loader {

enum class UriScheme { kFile, kHttp, kS3 };

struct ParsedUri {
  UriScheme scheme = UriScheme::kFile;
  std::string path;    // kFile: the local path
  std::string url;     // kHttp: the URL as given
  std::string bucket;  // kS3
  std::string key;     // kS3
};

// Errors: kInvalidArgument (field "model") for an unknown scheme or an s3:// URI without a key.
StatusOr<ParsedUri> ParseModelUri(const std::string& uri);

struct SourceOptions {
  HttpOptions http;
  S3Config s3;  // used for s3:// URIs only
};

// Opens the source for `uri`. Errors as for ParseModelUri and the sources' Open.
StatusOr<std::unique_ptr<ByteSource>> OpenSource(const std::string& uri, const SourceOptions& options);

// The path-style URL of an object and the Host header value to sign for it.
std::string S3ObjectUrl(const S3Config& config, const std::string& bucket, const std::string& key);
std::string S3HostHeader(const std::string& endpoint);

// The signer for requests to `bucket/key` (also used by `cohost push` for PUT).
RequestSigner S3Signer(const S3Config& config, const std::string& bucket, const std::string& key);

}  // namespace cohost::loader
