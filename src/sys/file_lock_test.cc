#include "sys/file_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cohost::sys {
namespace {

std::string TempPath() {
  char dir[] = "/tmp/cohost-lock-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  return std::string(dir) + "/serve.lock";
}

TEST(FileLockTest, ASecondHolderIsRefusedWithTheFirstOnesPidUntilItIsReleased) {
  const std::string path = TempPath();
  auto first = FileLock::Acquire(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::stringstream recorded;
  recorded << std::ifstream(path).rdbuf();
  EXPECT_EQ(recorded.str(), std::to_string(getpid()) + "\n");

  auto second = FileLock::Acquire(path);  // another open file, as another process would have
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("locked by process " + std::to_string(getpid())), std::string::npos)
      << second.status().message();

  first->reset();
  EXPECT_TRUE(FileLock::Acquire(path).ok());
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST(FileLockTest, AnUnopenablePathIsAnError) {
  auto lock = FileLock::Acquire("/nonexistent-dir/serve.lock");
  ASSERT_FALSE(lock.ok());
  EXPECT_NE(lock.status().message().find("/nonexistent-dir/serve.lock"), std::string::npos);
}

}  // namespace
}  // namespace cohost::sys
