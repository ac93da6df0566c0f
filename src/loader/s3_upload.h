// Uploading a local file to S3 (PutObject, path-style, SigV4 with an unsigned streamed payload).
#pragma once

#include <string>

#include "core/status.h"
#include "loader/http_source.h"
#include "loader/s3_config.h"

namespace cohost::loader {

// Uploads `local_path` to s3://bucket/key. Errors: kNotFound (no local file, or no bucket: 404),
// kFailedPrecondition (403), kUnavailable (transport or other HTTP errors, status named).
Status PutObject(const S3Config& config, const std::string& bucket, const std::string& key,
                 const std::string& local_path, const HttpOptions& http);

}  // namespace cohost::loader
