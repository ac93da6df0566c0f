#include "loader/source_uri.h"

#include <ctime>

#include "loader/file_source.h"
#include "loader/sigv4.h"

namespace cohost::loader {

StatusOr<ParsedUri> ParseModelUri(const std::string& uri) {
  ParsedUri p;
  if (uri.empty()) return InvalidArgument("model", "is empty; give a path, file://, http(s):// or s3:// URI");
  if (uri.rfind("file://", 0) == 0) {
    p.path = uri.substr(7);
    return p;
  }
  if (uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0) {
    p.scheme = UriScheme::kHttp;
    p.url = uri;
    return p;
  }
  if (uri.rfind("s3://", 0) == 0) {
    p.scheme = UriScheme::kS3;
    std::string rest = uri.substr(5);
    size_t slash = rest.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) {
      return InvalidArgument("model", "s3 URI must be s3://bucket/key, got " + uri);
    }
    p.bucket = rest.substr(0, slash);
    p.key = rest.substr(slash + 1);
    return p;
  }
  size_t colon = uri.find("://");
  if (colon != std::string::npos) {
    return InvalidArgument("model", "unknown scheme '" + uri.substr(0, colon) +
                                        "'; allowed: file://, http://, https://, s3:// or a path");
  }
  p.path = uri;
  return p;
}

std::string S3ObjectUrl(const S3Config& config, const std::string& bucket, const std::string& key) {
  return config.endpoint + "/" + UriEncode(bucket, false) + "/" + UriEncode(key, true);
}

std::string S3HostHeader(const std::string& endpoint) {
  size_t start = endpoint.find("://");
  std::string scheme = start == std::string::npos ? "https" : endpoint.substr(0, start);
  std::string host = endpoint.substr(start == std::string::npos ? 0 : start + 3);
  host = host.substr(0, host.find('/'));
  // curl omits a default port from Host; the signed value must match what is sent.
  auto strip = [&](const std::string& suffix) {
    if (host.size() > suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0)
      host.resize(host.size() - suffix.size());
  };
  if (scheme == "http") strip(":80");
  if (scheme == "https") strip(":443");
  return host;
}

RequestSigner S3Signer(const S3Config& config, const std::string& bucket, const std::string& key) {
  const std::string host = S3HostHeader(config.endpoint);
  const std::string path = "/" + UriEncode(bucket, false) + "/" + UriEncode(key, true);
  return [config, host, path](const std::string& method, const std::string& range) {
    SigV4Request req;
    req.method = method;
    req.canonical_uri = path;
    req.headers["host"] = host;
    if (method == "PUT") req.payload_sha256_hex = "UNSIGNED-PAYLOAD";  // streamed upload
    if (!range.empty()) req.headers["range"] = range;
    SigV4Result r = SignV4(req, config.credentials, config.region, "s3", std::time(nullptr));
    std::vector<std::string> lines{"Authorization: " + r.authorization};
    for (const auto& [k, v] : r.headers) {
      if (k != "host" && k != "range") lines.push_back(k + ": " + v);
    }
    return lines;
  };
}

StatusOr<std::unique_ptr<ByteSource>> OpenSource(const std::string& uri, const SourceOptions& options) {
  ASSIGN_OR_RETURN(ParsedUri p, ParseModelUri(uri));
  switch (p.scheme) {
    case UriScheme::kFile: {
      ASSIGN_OR_RETURN(auto f, FileSource::Open(p.path));
      return std::unique_ptr<ByteSource>(std::move(f));
    }
    case UriScheme::kHttp: {
      ASSIGN_OR_RETURN(auto h, HttpSource::Open(p.url, options.http));
      return std::unique_ptr<ByteSource>(std::move(h));
    }
    case UriScheme::kS3: {
      ASSIGN_OR_RETURN(auto h, HttpSource::Open(S3ObjectUrl(options.s3, p.bucket, p.key), options.http,
                                                S3Signer(options.s3, p.bucket, p.key), uri));
      return std::unique_ptr<ByteSource>(std::move(h));
    }
  }
  return Internal("unreachable");
}

}  // namespace cohost::loader
