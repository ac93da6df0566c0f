// Where and as whom to reach S3: endpoint, region, credentials, resolved the way the AWS CLI does
// (environment first, then ~/.aws/credentials and ~/.aws/config for the chosen profile).
#pragma once

#include <functional>
#include <string>

#include "core/status.h"
#include "loader/sigv4.h"

namespace cohost::loader {

struct S3Config {
  // Base URL without a trailing slash, e.g. "http://127.0.0.1:4569". Objects are addressed
  // path-style: <endpoint>/<bucket>/<key>, which every S3-compatible server accepts.
  std::string endpoint;
  std::string region = "us-east-1";
  AwsCredentials credentials;
};

// Looks a variable up (nullptr when unset). main() passes ::getenv; tests pass a map.
using EnvLookup = std::function<const char*(const char*)>;

// Resolves the configuration. Reads: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / endpoint_url;
// AWS_REGION / AWS_DEFAULT_REGION / region; AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN / aws_access_key_id, aws_secret_access_key, aws_session_token; AWS_PROFILE
// (default "default"); AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE (default under `home`).
// Without an endpoint, https://s3.<region>.amazonaws.com. Errors: kFailedPrecondition naming the
// variables to set when no credentials are found.
StatusOr<S3Config> ResolveS3Config(const EnvLookup& env, const std::string& home);

// "key" from section `section` of an INI file ("" when absent or unreadable).
std::string IniValue(const std::string& path, const std::string& section, const std::string& key);

}  // namespace cohost::loader
