#include "agent/overhead_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cohost::agent {
namespace {

class OverheadCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cohost-overhead-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "process_overhead.json").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

OverheadCacheKey H200() { return {"cuda:NVIDIA H200", "550.54.15", "build-1", 1}; }

TEST_F(OverheadCacheTest, AMissingFileIsAnEmptyCache) {
  EXPECT_FALSE(OverheadCache::Load(path_).Find(H200()).has_value());
}

TEST_F(OverheadCacheTest, SavedEntriesAreFoundAfterALoad) {
  OverheadCache cache = OverheadCache::Load(path_);
  cache.Put(H200(), {489, 652LL << 20, 163LL << 20, "nvml_process"});
  cache.Put({"host", "", "build-1", 1}, {38, 70LL << 20, 32LL << 20, "proc_vmrss"});
  ASSERT_TRUE(cache.Save().ok());

  OverheadCache again = OverheadCache::Load(path_);
  auto m = again.Find(H200());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->overhead_mib, 489);
  EXPECT_EQ(m->used_bytes, 652LL << 20);
  EXPECT_EQ(m->buffers_bytes, 163LL << 20);
  EXPECT_EQ(m->method, "nvml_process");
  EXPECT_EQ(again.Find({"host", "", "build-1", 1})->overhead_mib, 38);
}

TEST_F(OverheadCacheTest, AnyChangeOfDriverBuildOrProbeIsAMiss) {
  OverheadCache cache = OverheadCache::Load(path_);
  cache.Put(H200(), {489, 0, 0, "nvml_process"});
  ASSERT_TRUE(cache.Save().ok());
  OverheadCache again = OverheadCache::Load(path_);
  OverheadCacheKey k = H200();
  k.driver = "560.28.03";
  EXPECT_FALSE(again.Find(k).has_value());
  k = H200();
  k.cohost_build = "build-2";
  EXPECT_FALSE(again.Find(k).has_value());
  k = H200();
  k.probe_version = 2;
  EXPECT_FALSE(again.Find(k).has_value());
  k = H200();
  k.device_type = "cuda:NVIDIA L4";
  EXPECT_FALSE(again.Find(k).has_value());
}

TEST_F(OverheadCacheTest, AMalformedFileIsAnEmptyCache) {
  std::ofstream(path_) << "{\"entries\": [1, 2";
  OverheadCache cache = OverheadCache::Load(path_);
  EXPECT_FALSE(cache.Find(H200()).has_value());
  std::ofstream(path_, std::ios::trunc)
      << R"({"entries": {")" << H200().ToString() << R"(": {"overhead_mib": "x"}}})";
  EXPECT_FALSE(OverheadCache::Load(path_).Find(H200()).has_value());
}

}  // namespace
}  // namespace cohost::agent
