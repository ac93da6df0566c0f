#include "loader/s3_config.h"

#include <fstream>

namespace cohost::loader {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string Env(const EnvLookup& env, const char* name) {
  const char* v = env(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

std::string IniValue(const std::string& path, const std::string& section, const std::string& key) {
  std::ifstream in(path);
  std::string line, current;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      current = Trim(line.substr(1, line.size() - 2));
      continue;
    }
    if (current != section) continue;
    size_t eq = line.find('=');
    if (eq != std::string::npos && Trim(line.substr(0, eq)) == key) return Trim(line.substr(eq + 1));
  }
  return {};
}

StatusOr<S3Config> ResolveS3Config(const EnvLookup& env, const std::string& home) {
  std::string profile = Env(env, "AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::string cred_file = Env(env, "AWS_SHARED_CREDENTIALS_FILE");
  if (cred_file.empty()) cred_file = home + "/.aws/credentials";
  std::string config_file = Env(env, "AWS_CONFIG_FILE");
  if (config_file.empty()) config_file = home + "/.aws/config";
  const std::string config_section = profile == "default" ? "default" : "profile " + profile;
  auto from_files = [&](const char* key) {
    std::string v = IniValue(cred_file, profile, key);
    return v.empty() ? IniValue(config_file, config_section, key) : v;
  };
  auto pick = [&](std::initializer_list<const char*> vars, const char* file_key) {
    for (const char* v : vars) {
      std::string s = Env(env, v);
      if (!s.empty()) return s;
    }
    return from_files(file_key);
  };

  S3Config c;
  std::string region = pick({"AWS_REGION", "AWS_DEFAULT_REGION"}, "region");
  if (!region.empty()) c.region = region;
  c.endpoint = pick({"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}, "endpoint_url");
  if (c.endpoint.empty()) c.endpoint = "https://s3." + c.region + ".amazonaws.com";
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  c.credentials.access_key_id = pick({"AWS_ACCESS_KEY_ID"}, "aws_access_key_id");
  c.credentials.secret_access_key = pick({"AWS_SECRET_ACCESS_KEY"}, "aws_secret_access_key");
  c.credentials.session_token = pick({"AWS_SESSION_TOKEN"}, "aws_session_token");
  if (c.credentials.access_key_id.empty() || c.credentials.secret_access_key.empty()) {
    return Status(StatusCode::kFailedPrecondition,
                  "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add "
                  "them to profile '" + profile + "' in " + cred_file);
  }
  return c;
}

}  // namespace cohost::loader
