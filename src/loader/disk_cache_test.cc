#include "loader/disk_cache.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "loader/file_source.h"

namespace cohost::loader {
namespace {

namespace fs = std::filesystem;

class DiskCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("disk_cache_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Put(const DiskCache& c, const std::string& uri, size_t bytes, int age_s) {
    std::ofstream(c.PathFor(uri)) << std::string(bytes, 'x');
    fs::last_write_time(c.PathFor(uri), fs::file_time_type::clock::now() - std::chrono::seconds(age_s));
  }
  fs::path dir_;
};

TEST_F(DiskCacheTest, EvictsLeastRecentlyUsedUntilTheNewEntryFits) {
  auto c = DiskCache::Open({(dir_ / "c").string(), 300});
  ASSERT_TRUE(c.ok());
  Put(**c, "s3://b/old", 100, 30);
  Put(**c, "s3://b/mid", 100, 20);
  Put(**c, "s3://b/new", 100, 10);
  EXPECT_TRUE((*c)->Has("s3://b/old"));  // use refreshes: "old" is now the most recent
  ASSERT_TRUE((*c)->MakeRoom(150, "s3://b/x").ok());
  EXPECT_TRUE(fs::exists((*c)->PathFor("s3://b/old")));
  EXPECT_FALSE(fs::exists((*c)->PathFor("s3://b/mid")));
  EXPECT_FALSE(fs::exists((*c)->PathFor("s3://b/new")));
  Status too_big = (*c)->MakeRoom(301, "s3://b/x");
  EXPECT_EQ(too_big.code(), StatusCode::kResourceExhausted);
}

TEST_F(DiskCacheTest, DownloadsInProgressCountAndAbandonedOnesAreRemoved) {
  auto c = DiskCache::Open({(dir_ / "c").string(), 300});
  ASSERT_TRUE(c.ok());
  Put(**c, "s3://b/done", 100, 10);
  // A live download (this process) and one of a process that does not exist (a pid above
  // Linux's largest pid_max, 2^22).
  std::string live = (*c)->PathFor("s3://b/live") + ".tmp." + std::to_string(::getpid());
  std::ofstream(live) << std::string(150, 'x');
  pid_t gone = 4194305;
  ASSERT_NE(::kill(gone, 0), 0);
  std::string abandoned = (*c)->PathFor("s3://b/lost") + ".tmp." + std::to_string(gone);
  std::ofstream(abandoned) << std::string(250, 'x');
  // 100 done + 150 in progress + 60 new > 300: the finished entry must go; the abandoned
  // partial file is removed and does not count.
  ASSERT_TRUE((*c)->MakeRoom(60, "s3://b/x").ok());
  EXPECT_FALSE(fs::exists(abandoned));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_FALSE(fs::exists((*c)->PathFor("s3://b/done")));
}

TEST_F(DiskCacheTest, CachingSourceFillsGapsAndAppearsAtomically) {
  std::string src_path = (dir_ / "src.bin").string();
  std::string data(100000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  std::ofstream(src_path, std::ios::binary) << data;
  auto src = FileSource::Open(src_path);
  ASSERT_TRUE(src.ok());
  std::string entry = (dir_ / "entry.gguf").string();
  {
    auto c = CachingSource::Create(**src, entry);
    ASSERT_TRUE(c.ok());
    char buf[1000];
    ASSERT_TRUE((*c)->ReadAt(5000, buf, sizeof(buf)).ok());
    EXPECT_FALSE(fs::exists(entry));  // not before Commit
    ASSERT_TRUE((*c)->Commit().ok());
  }
  std::ifstream in(entry, std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, data);
  {
    auto c = CachingSource::Create(**src, (dir_ / "abandoned.gguf").string());
    ASSERT_TRUE(c.ok());
  }
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();  // temp removed
  }
}

TEST_F(DiskCacheTest, UnwritableDirectoryIsNamed) {
  auto c = DiskCache::Open({"/proc/cohost-cache", 1});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().field(), "cache-dir");
}

}  // namespace
}  // namespace cohost::loader
