#include "sys/process.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace cohost::sys {
namespace {

TEST(MergeEnvironmentTest, ReplacesSameNameAndAppendsNew) {
  char a[] = "PATH=/bin", b[] = "CUDA_VISIBLE_DEVICES=0,1", c[] = "HOME=/root";
  char* base[] = {a, b, c, nullptr};
  auto env = MergeEnvironment(base, {"CUDA_VISIBLE_DEVICES=1", "NEW=x"});
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/bin", "HOME=/root", "CUDA_VISIBLE_DEVICES=1", "NEW=x"}));
}

TEST(MergeEnvironmentTest, ANamePrefixIsNotTheSameVariable) {
  char a[] = "CUDA=1";
  char* base[] = {a, nullptr};
  auto env = MergeEnvironment(base, {"CUDA_VISIBLE_DEVICES="});
  EXPECT_EQ(env, (std::vector<std::string>{"CUDA=1", "CUDA_VISIBLE_DEVICES="}));
}

TEST(ProcessTest, ChildSeesTheExtraEnvironment) {
  char tmpl[] = "/tmp/cohost-proc-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string log = dir + "/out.log";
  auto p = Process::Spawn({{"/bin/sh", "-c", "echo \"[$COHOST_TEST_VAR]\""}, log, {"COHOST_TEST_VAR=pinned"}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto rc = p->WaitFor(std::chrono::seconds(10));
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 0);
  std::stringstream out;
  out << std::ifstream(log).rdbuf();
  EXPECT_EQ(out.str(), "[pinned]\n");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cohost::sys
