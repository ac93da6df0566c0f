#include "loader/s3_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace cohost::loader {
namespace {

struct FakeEnv {
  std::map<std::string, std::string> vars;
  EnvLookup lookup() const {
    return [this](const char* n) -> const char* {
      auto it = vars.find(n);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

class S3ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = std::filesystem::temp_directory_path() / ("s3cfg_" + std::to_string(::getpid()));
    std::filesystem::create_directories(home_ / ".aws");
  }
  void TearDown() override { std::filesystem::remove_all(home_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(home_ / ".aws" / name) << text;
  }
  std::filesystem::path home_;
};

TEST_F(S3ConfigTest, EnvironmentWins) {
  Write("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n");
  FakeEnv env{{{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"},
               {"AWS_ENDPOINT_URL", "http://127.0.0.1:4569/"}, {"AWS_REGION", "eu-west-1"}}};
  auto c = ResolveS3Config(env.lookup(), home_.string());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->credentials.access_key_id, "ENVKEY");
  EXPECT_EQ(c->credentials.secret_access_key, "ENVSECRET");
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:4569");
  EXPECT_EQ(c->region, "eu-west-1");
}

TEST_F(S3ConfigTest, ProfileFromFiles) {
  Write("credentials",
        "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n"
        "[work]\naws_access_key_id = W\naws_secret_access_key = WS\n");
  Write("config", "[default]\nregion = us-west-2\n[profile work]\nregion = ap-south-1\n"
                  "endpoint_url = http://minio:9000\n");
  FakeEnv env{{{"AWS_PROFILE", "work"}}};
  auto c = ResolveS3Config(env.lookup(), home_.string());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->credentials.access_key_id, "W");
  EXPECT_EQ(c->region, "ap-south-1");
  EXPECT_EQ(c->endpoint, "http://minio:9000");

  auto d = ResolveS3Config(FakeEnv{}.lookup(), home_.string());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->credentials.access_key_id, "D");
  EXPECT_EQ(d->endpoint, "https://s3.us-west-2.amazonaws.com");
}

TEST_F(S3ConfigTest, MissingCredentialsNamesTheVariables) {
  auto c = ResolveS3Config(FakeEnv{}.lookup(), home_.string());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

}  // namespace
}  // namespace cohost::loader
