#include "loader/source_uri.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "loader/file_source.h"

namespace cohost::loader {
namespace {

TEST(SourceUriTest, ParsesSchemes) {
  auto f = ParseModelUri("file:///m/a.gguf");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->scheme, UriScheme::kFile);
  EXPECT_EQ(f->path, "/m/a.gguf");
  EXPECT_EQ(ParseModelUri("models/a.gguf")->path, "models/a.gguf");
  EXPECT_EQ(ParseModelUri("https://h/a.gguf")->scheme, UriScheme::kHttp);
  auto s = ParseModelUri("s3://bucket/dir/a.gguf");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->bucket, "bucket");
  EXPECT_EQ(s->key, "dir/a.gguf");
}

TEST(SourceUriTest, RejectsBadUris) {
  for (const char* bad : {"", "ftp://h/a", "s3://bucket", "s3://bucket/", "s3:///key"}) {
    auto p = ParseModelUri(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().field(), "model") << bad;
  }
}

TEST(SourceUriTest, S3AddressingIsPathStyle) {
  S3Config c;
  c.endpoint = "http://127.0.0.1:4569";
  EXPECT_EQ(S3ObjectUrl(c, "models", "a b.gguf"), "http://127.0.0.1:4569/models/a%20b.gguf");
  EXPECT_EQ(S3HostHeader("http://127.0.0.1:4569"), "127.0.0.1:4569");
  EXPECT_EQ(S3HostHeader("https://s3.us-east-1.amazonaws.com:443/"), "s3.us-east-1.amazonaws.com");
}

TEST(FileSourceTest, ReadsRangesAndRejectsOutOfRange) {
  auto path = std::filesystem::temp_directory_path() / ("fsrc_" + std::to_string(::getpid()));
  std::ofstream(path) << "0123456789";
  auto src = FileSource::Open(path.string());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_EQ((*src)->size(), 10u);
  char buf[4] = {};
  ASSERT_TRUE((*src)->ReadAt(3, buf, 4).ok());
  EXPECT_EQ(std::string(buf, 4), "3456");
  Status s = (*src)->ReadAt(8, buf, 4);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  std::filesystem::remove(path);
  EXPECT_EQ(FileSource::Open(path.string()).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cohost::loader
