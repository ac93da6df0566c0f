#include "agent/nvml.h"

#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cohost::agent {
namespace {

using ::testing::HasSubstr;

TEST(NvmlTest, AnAbsentLibraryIsUnavailable) {
  auto nvml = Nvml::Open("libcohost-no-such-nvml.so.1");
  ASSERT_FALSE(nvml.ok());
  EXPECT_EQ(nvml.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(nvml.status().message(), HasSubstr("NVML is not available"));
}

TEST(NvmlTest, ALibraryWithoutTheEntryPointsIsUnavailable) {
  auto nvml = Nvml::Open("libm.so.6");
  ASSERT_FALSE(nvml.ok());
  EXPECT_EQ(nvml.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(nvml.status().message(), HasSubstr("lacks nvmlInit_v2"));
}

// The fake library (testdata/fake_nvml.cc) answers like a driver with two GPUs; the test sets
// its processes through the same loaded copy.
class FakeNvmlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    handle_ = dlopen(COHOST_FAKE_NVML, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    set_processes_ =
        reinterpret_cast<decltype(set_processes_)>(dlsym(handle_, "FakeNvml_SetProcesses"));
    set_init_ = reinterpret_cast<decltype(set_init_)>(dlsym(handle_, "FakeNvml_SetInitResult"));
    initialised_ = reinterpret_cast<decltype(initialised_)>(dlsym(handle_, "FakeNvml_Initialised"));
    ASSERT_TRUE(set_processes_ && set_init_ && initialised_);
    set_init_(0);
  }
  void TearDown() override {
    if (handle_) dlclose(handle_);
  }

  void* handle_ = nullptr;
  void (*set_processes_)(int, int, const unsigned int*, const unsigned long long*) = nullptr;
  void (*set_init_)(int) = nullptr;
  int (*initialised_)() = nullptr;
};

TEST_F(FakeNvmlTest, ListsDevicesWithTheirMemory) {
  auto nvml = Nvml::Open(COHOST_FAKE_NVML);
  ASSERT_TRUE(nvml.ok()) << nvml.status().ToString();
  EXPECT_EQ((*nvml)->driver_version(), "999.12.3");
  ASSERT_EQ(*(*nvml)->DeviceCount(), 2);
  auto d0 = (*nvml)->Device(0);
  ASSERT_TRUE(d0.ok()) << d0.status().ToString();
  EXPECT_EQ(d0->index, 0);
  EXPECT_EQ(d0->name, "Fake H200");
  EXPECT_EQ(d0->uuid, "GPU-00000000-fake");
  EXPECT_EQ(d0->total_bytes, int64_t{143771} << 20);
  EXPECT_EQ(d0->used_bytes, int64_t{1000} << 20);
  EXPECT_EQ(d0->free_bytes, d0->total_bytes - d0->used_bytes);
  EXPECT_EQ((*nvml)->Device(1)->name, "Fake L4");
  auto bad = (*nvml)->Device(2);
  EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
  EXPECT_THAT(bad.status().message(), HasSubstr("nvmlDeviceGetHandleByIndex_v2"));
}

TEST_F(FakeNvmlTest, ReadsWhatEachProcessHoldsGrowingItsBufferWhenNeeded) {
  const unsigned int pids[] = {100, 200};
  const unsigned long long used[] = {652ULL << 20, ~0ULL};
  set_processes_(0, 2, pids, used);
  std::vector<unsigned int> many_pids(40);
  std::vector<unsigned long long> many_used(40);
  for (int i = 0; i < 40; ++i) {
    many_pids[i] = 1000 + i;
    many_used[i] = static_cast<unsigned long long>(i) << 20;
  }
  set_processes_(1, 40, many_pids.data(), many_used.data());

  auto nvml = Nvml::Open(COHOST_FAKE_NVML);
  ASSERT_TRUE(nvml.ok()) << nvml.status().ToString();
  auto p0 = (*nvml)->ComputeProcesses(0);
  ASSERT_TRUE(p0.ok()) << p0.status().ToString();
  ASSERT_EQ(p0->size(), 2u);
  EXPECT_EQ((*p0)[0].pid, 100);
  EXPECT_EQ((*p0)[0].used_bytes, int64_t{652} << 20);
  EXPECT_EQ((*p0)[1].pid, 200);
  EXPECT_FALSE((*p0)[1].used_bytes.has_value());  // NVML_VALUE_NOT_AVAILABLE
  auto p1 = (*nvml)->ComputeProcesses(1);         // more than the first buffer holds
  ASSERT_TRUE(p1.ok()) << p1.status().ToString();
  ASSERT_EQ(p1->size(), 40u);
  EXPECT_EQ((*p1)[39].pid, 1039);
  EXPECT_EQ((*p1)[39].used_bytes, int64_t{39} << 20);
}

TEST_F(FakeNvmlTest, AFailedInitIsUnavailableAndShutdownFollowsOpen) {
  set_init_(9);
  auto failed = Nvml::Open(COHOST_FAKE_NVML);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(failed.status().message(), HasSubstr("Driver Not Loaded"));
  set_init_(0);
  {
    auto nvml = Nvml::Open(COHOST_FAKE_NVML);
    ASSERT_TRUE(nvml.ok());
    EXPECT_EQ(initialised_(), 1);
  }
  EXPECT_EQ(initialised_(), 0);
}

}  // namespace
}  // namespace cohost::agent
