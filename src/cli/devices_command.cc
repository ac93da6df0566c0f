#include "cli/devices_command.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/inventory.h"
#include "engine/device_discovery.h"
#include "engine/llama_runtime.h"

namespace cohost::cli {
namespace {

struct DevicesFlags {
  std::string inventory;
  std::string output = "table";
};

int Run(const DevicesFlags& f) {
  engine::InitLlamaRuntime(false);
  std::vector<engine::DiscoveredDevice> found = engine::DiscoverDevices();
  if (!f.inventory.empty()) {
    std::ifstream in(f.inventory);
    if (!in) {
      fprintf(stderr, "error: --inventory: cannot read %s\n", f.inventory.c_str());
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auto inv = ParseInventoryJson(ss.str());
    if (!inv.ok()) {
      fprintf(stderr, "error: %s: %s\n", f.inventory.c_str(), inv.status().ToString().c_str());
      return 2;
    }
    for (const Device& d : inv->devices) {
      if (d.kind == DeviceKind::kCpu) continue;  // the discovered host wins
      found.push_back({d, d.memory_mib, "CPU (virtual)"});
    }
  }
  if (f.output == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : found) {
      out.push_back({{"id", d.device.id}, {"name", d.device.name}, {"kind", DeviceKindName(d.device.kind)},
                     {"virtual", d.device.is_virtual()}, {"memory_mib", d.device.memory_mib},
                     {"free_mib", d.free_mib}, {"link_group", d.device.link_group},
                     {"backend", d.backend_name}});
    }
    printf("%s\n", nlohmann::json({{"devices", out}}).dump(2).c_str());
    return 0;
  }
  printf("%-8s %-8s %-8s %12s %12s  %s\n", "ID", "KIND", "VIRTUAL", "MEMORY_MIB", "FREE_MIB", "NAME");
  for (const auto& d : found) {
    printf("%-8s %-8s %-8s %12lld %12lld  %s\n", d.device.id.c_str(), DeviceKindName(d.device.kind),
           d.device.is_virtual() ? "yes" : "no", static_cast<long long>(d.device.memory_mib),
           static_cast<long long>(d.free_mib), d.device.name.c_str());
  }
  return 0;
}

}  // namespace

void AddDevicesCommand(CLI::App& app) {
  auto flags = std::make_shared<DevicesFlags>();
  CLI::App* cmd = app.add_subcommand("devices", "List this node's devices (GPUs found by ggml, the host, and virtual ones)");
  cmd->add_option("--inventory", flags->inventory, "inventory file declaring virtual accelerators");
  cmd->add_option("--output,-o", flags->output, "table or json")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  cmd->callback([flags] { throw CLI::RuntimeError(Run(*flags)); });
}

}  // namespace cohost::cli
