// Dedicated endpoints end to end: a real serve on two virtual devices, a dedicated endpoint beside
// a shared one, real runners. The dedicated endpoint's device is its own (no shared copy goes
// there, with the reason in the CopyUnplaced event), stays its own at zero copies and across a
// restart, and is freed when the endpoint is deleted.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "support/serve.h"

namespace cohost::testing {
namespace {

// Device id -> the /v1/devices entry of each accelerator (the host is left out).
std::map<std::string, json> Accelerators(Serve& serve) {
  std::map<std::string, json> out;
  const JsonResponse reply = serve.Call("GET", "/v1/devices");  // outlives the loop
  for (const json& d : reply.body["devices"]) {
    if (d["id"] != "cpu") out[d["id"].get<std::string>()] = d;
  }
  return out;
}

// The device the component's only copy is on, or "" when it has no one copy with one device.
std::string DeviceOf(Serve& serve, const std::string& component) {
  json copies = serve.Copies(component);
  if (copies.size() != 1u || copies[0]["devices"].size() != 1u) return "";
  return copies[0]["devices"][0].get<std::string>();
}

json Spec(const std::string& name, const std::string& endpoint, double accelerators) {
  json spec = ComponentSpec(name, SmallModel(), accelerators, 1);
  spec["endpoint"] = endpoint;
  return spec;
}

bool HasEvent(Serve& serve, const std::string& subject, const std::string& needle) {
  return serve.Call("GET", "/v1/events?subject=" + subject).raw.find(needle) != std::string::npos;
}

TEST(ServeDedicatedTest, DedicatedEndpointOwnsItsDeviceUntilDeleted) {
  TempDir dir;
  const std::string inventory = WriteInventory(dir, 2, 4096);
  auto serve = std::make_unique<Serve>(dir.path(), inventory);
  ASSERT_GT(serve->port(), 0) << serve->Log();
  ASSERT_EQ(serve->Call("POST", "/v1/endpoints", {{"name", "main"}}).status, 201);
  ASSERT_EQ(serve->Call("POST", "/v1/endpoints", {{"name", "big"}, {"kind", "dedicated"}}).status, 201);

  // A quarter-device copy of the dedicated endpoint, then a half-device shared one: binpack
  // alone would stack them on one device; tenancy puts them apart.
  JsonResponse llm = serve->Call("POST", "/v1/inference-components", Spec("llm", "big", 0.25));
  ASSERT_EQ(llm.status, 201) << llm.raw;
  ASSERT_TRUE(WaitUntil([&] { return serve->ReadyCopies("llm") == 1; }, std::chrono::seconds(60)))
      << serve->Log();
  json alpha = Spec("alpha", "main", 0.5);
  alpha["priority"] = 60;  // placed before "mid" after the restart, so it gets its device back
  ASSERT_EQ(serve->Call("POST", "/v1/inference-components", alpha).status, 201);
  ASSERT_TRUE(WaitUntil([&] { return serve->ReadyCopies("alpha") == 1; }, std::chrono::seconds(60)))
      << serve->Log();
  const std::string owned = DeviceOf(*serve, "llm");
  const std::string shared = DeviceOf(*serve, "alpha");
  ASSERT_FALSE(owned.empty());
  ASSERT_FALSE(shared.empty());
  EXPECT_NE(owned, shared);
  std::map<std::string, json> devices = Accelerators(*serve);
  EXPECT_EQ(devices[owned]["tenancy"], "dedicated") << devices[owned].dump();
  EXPECT_EQ(devices[owned]["owner"], "big");
  EXPECT_EQ(devices[shared]["tenancy"], "shared") << devices[shared].dump();
  EXPECT_TRUE(devices[shared]["owner"].is_null());
  EXPECT_TRUE(HasEvent(*serve, owned, "DeviceClaimed"));

  // A three-quarter shared copy would fit only on big's device (0.75 free there, 0.5 on the
  // shared one): refused, with the reason.
  ASSERT_EQ(serve->Call("POST", "/v1/inference-components", Spec("mid", "main", 0.75)).status, 201);
  const std::string reason = "device " + owned + " is dedicated to endpoint \\\"big\\\"";
  ASSERT_TRUE(WaitUntil([&] { return HasEvent(*serve, "mid", reason); }))
      << serve->Call("GET", "/v1/events?subject=mid").raw;
  EXPECT_TRUE(HasEvent(*serve, "mid", "CopyUnplaced"));
  EXPECT_EQ(serve->ReadyCopies("mid"), 0);

  // At zero copies (its component deleted) the device stays big's, also across a restart.
  ASSERT_EQ(serve->Call("DELETE", "/v1/inference-components/llm").status, 200);
  ASSERT_TRUE(WaitUntil([&] { return Accelerators(*serve)[owned]["reserved_memory_mib"] == 0; },
                        std::chrono::seconds(60)))
      << serve->Call("GET", "/v1/devices").raw;
  EXPECT_EQ(Accelerators(*serve)[owned]["owner"], "big");
  size_t log_size = serve->Log().size();
  serve->Kill();
  serve = std::make_unique<Serve>(dir.path(), inventory, log_size);
  ASSERT_GT(serve->port(), 0) << serve->Log();
  ASSERT_TRUE(WaitUntil([&] { return serve->ReadyCopies("alpha") == 1; }, std::chrono::seconds(60)))
      << serve->Log();
  devices = Accelerators(*serve);
  EXPECT_EQ(devices[owned]["owner"], "big") << devices[owned].dump();
  EXPECT_EQ(devices[owned]["tenancy"], "dedicated");
  EXPECT_EQ(devices[owned]["reserved_memory_mib"], 0);
  EXPECT_EQ(DeviceOf(*serve, "alpha"), shared);  // placed again, not on big's device
  EXPECT_EQ(serve->ReadyCopies("mid"), 0);

  // Deleting the endpoint frees its device: the waiting shared copy takes it.
  ASSERT_EQ(serve->Call("DELETE", "/v1/endpoints/big").status, 200);
  ASSERT_TRUE(WaitUntil([&] { return serve->ReadyCopies("mid") == 1; }, std::chrono::seconds(60)))
      << serve->Call("GET", "/v1/events").raw;
  EXPECT_EQ(DeviceOf(*serve, "mid"), owned);
  devices = Accelerators(*serve);
  EXPECT_EQ(devices[owned]["tenancy"], "shared") << devices[owned].dump();
  EXPECT_TRUE(devices[owned]["owner"].is_null());
  EXPECT_TRUE(HasEvent(*serve, owned, "DeviceReleased"));
}

}  // namespace
}  // namespace cohost::testing
