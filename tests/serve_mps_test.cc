// `cohost serve --mps` where no shares can be enforced (these machines: virtual devices, no
// NVIDIA MPS): auto serves with shares as bookkeeping and says so; on refuses to start, saying
// why. The MPS path itself (a daemon present, the runners' environment) is unit-tested with a fake
// daemon in src/agent/mps_test.cc.
#include <gtest/gtest.h>

#include "support/serve.h"

namespace cohost::testing {
namespace {

TEST(ServeMpsTest, AutoWithoutCudaLogsThatSharesAreBookkeeping) {
  TempDir dir;
  Serve serve(dir.path(), WriteInventory(dir, 1, 4096));
  ASSERT_GT(serve.port(), 0) << serve.Log();
  EXPECT_NE(serve.Log().find("msg=\"compute shares\" enforced=no reason=\"no cuda device\""),
            std::string::npos)
      << serve.Log();
  // The devices are listed once each device type's per-process overhead is known (a probe).
  JsonResponse devices;
  ASSERT_TRUE(WaitUntil([&] {
    devices = serve.Call("GET", "/v1/devices");
    return devices.status == 200 && !devices.body["devices"].empty();
  })) << devices.raw;
  for (const auto& d : devices.body["devices"]) {
    EXPECT_EQ(d["shares_enforced"], false) << d.dump();
    EXPECT_TRUE(d["shares_enforcement"] == "virtual device" ||
                d["shares_enforcement"] == "host device")
        << d.dump();
  }
}

TEST(ServeMpsTest, OnRefusesToStartWhenMpsCannotEnforceShares) {
  TempDir dir;
  ExitResult r = RunCohost({"serve", "--port", "0", "--data-dir", dir.path(), "--inventory",
                            WriteInventory(dir, 1, 4096), "--no-demo", "--mps", "on"});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("--mps on: this node has no CUDA device"), std::string::npos) << r.output;
}

TEST(ServeMpsTest, AnUnknownModeIsRefused) {
  TempDir dir;
  ExitResult r = RunCohost({"serve", "--data-dir", dir.path(), "--no-demo", "--mps", "sometimes"});
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("--mps"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cohost::testing
