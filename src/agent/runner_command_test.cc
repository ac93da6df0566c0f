#include "agent/runner_command.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace cohost::agent {
namespace {

RunnerLaunch Launch() {
  RunnerLaunch l;
  l.cohost_binary = "/usr/bin/cohost";
  l.model_path = "/models/a.gguf";
  l.socket_path = "/run/cohost/copy-1.sock";
  l.context = 4096;
  l.parallel = 8;
  l.threads = 2;
  l.gpu_layers = 10;
  return l;
}

TEST(RunnerCommandTest, BuildsTheFullCommandLine) {
  RunnerLaunch l = Launch();
  l.alias = "codegen";
  auto argv = BuildRunnerArgv(l);
  ASSERT_TRUE(argv.ok()) << argv.status().ToString();
  EXPECT_EQ(*argv, (std::vector<std::string>{"/usr/bin/cohost", "runner", "--model", "/models/a.gguf",
                                             "--socket", "/run/cohost/copy-1.sock", "--parallel", "8",
                                             "--context", "4096", "--threads", "2", "--gpu-layers", "10",
                                             "--exit-with-parent",
                                             "--alias", "codegen"}));
}

TEST(RunnerCommandTest, NoAliasLeavesTheRunnersDefault) {
  auto argv = BuildRunnerArgv(Launch());
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(std::find(argv->begin(), argv->end(), "--alias"), argv->end());
}

TEST(RunnerCommandTest, RefusesMissingPathsAndBadSizesNamingTheField) {
  struct Case {
    void (*edit)(RunnerLaunch&);
    const char* field;
  } cases[] = {
      {[](RunnerLaunch& l) { l.cohost_binary.clear(); }, "cohost_binary"},
      {[](RunnerLaunch& l) { l.model_path.clear(); }, "model_path"},
      {[](RunnerLaunch& l) { l.socket_path.clear(); }, "socket_path"},
      {[](RunnerLaunch& l) { l.context = 0; }, "context"},
      {[](RunnerLaunch& l) { l.parallel = 0; }, "parallel"},
      {[](RunnerLaunch& l) { l.threads = -1; }, "threads"},
      {[](RunnerLaunch& l) { l.gpu_layers = -2; }, "gpu_layers"},
      {[](RunnerLaunch& l) { l.memory_limit_mib = -1; }, "memory_limit_mib"},
      {[](RunnerLaunch& l) { l.cuda_devices = std::vector<int>{0, -1}; }, "cuda_devices"},
      {[](RunnerLaunch& l) { l.mps = MpsLimits{25, {1024}}; }, "mps"},  // no CUDA devices
      {[](RunnerLaunch& l) {
         l.cuda_devices = std::vector<int>{0};
         l.mps = MpsLimits{0, {1024}};
       }, "mps.active_thread_percentage"},
      {[](RunnerLaunch& l) {
         l.cuda_devices = std::vector<int>{0};
         l.mps = MpsLimits{101, {1024}};
       }, "mps.active_thread_percentage"},
      {[](RunnerLaunch& l) {
         l.cuda_devices = std::vector<int>{0, 1};
         l.mps = MpsLimits{50, {1024}};
       }, "mps.device_memory_mib"},
      {[](RunnerLaunch& l) {
         l.cuda_devices = std::vector<int>{0};
         l.mps = MpsLimits{50, {0}};
       }, "mps.device_memory_mib"},
  };
  for (const Case& c : cases) {
    RunnerLaunch l = Launch();
    c.edit(l);
    auto argv = BuildRunnerArgv(l);
    ASSERT_FALSE(argv.ok()) << c.field;
    EXPECT_EQ(argv.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(argv.status().field(), c.field);
  }
}

TEST(RunnerCommandTest, TheReservationBecomesTheRunnersMemoryLimit) {
  RunnerLaunch l = Launch();
  l.memory_limit_mib = 1536;
  auto argv = BuildRunnerArgv(l);
  ASSERT_TRUE(argv.ok());
  auto it = std::find(argv->begin(), argv->end(), "--memory-limit-mib");
  ASSERT_NE(it, argv->end());
  EXPECT_EQ(*(it + 1), "1536");
  auto unlimited = BuildRunnerArgv(Launch());
  EXPECT_EQ(std::find(unlimited->begin(), unlimited->end(), "--memory-limit-mib"), unlimited->end());
}

TEST(RunnerCommandTest, CopiesSeeOnlyTheirCudaDevices) {
  RunnerLaunch l = Launch();
  EXPECT_TRUE(RunnerEnvironment(l).empty());  // not pinned: inherits the agent's view
  l.cuda_devices = std::vector<int>{2, 3};
  EXPECT_EQ(RunnerEnvironment(l), (std::vector<std::string>{"CUDA_DEVICE_ORDER=PCI_BUS_ID", "CUDA_VISIBLE_DEVICES=2,3"}));
  l.cuda_devices = std::vector<int>{};
  EXPECT_EQ(RunnerEnvironment(l), (std::vector<std::string>{"CUDA_DEVICE_ORDER=PCI_BUS_ID", "CUDA_VISIBLE_DEVICES="}));
}

TEST(RunnerCommandTest, MpsLimitsBecomeTheRunnersMpsEnvironment) {
  RunnerLaunch l = Launch();
  l.cuda_devices = std::vector<int>{3, 5};
  l.mps = MpsLimits{34, {2048, 512}};
  ASSERT_TRUE(BuildRunnerArgv(l).ok());
  EXPECT_EQ(RunnerEnvironment(l),
            (std::vector<std::string>{"CUDA_DEVICE_ORDER=PCI_BUS_ID", "CUDA_VISIBLE_DEVICES=3,5", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=34",
                                      "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0=2048M,1=512M"}));
}

}  // namespace
}  // namespace cohost::agent
