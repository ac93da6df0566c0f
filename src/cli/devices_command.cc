#include "cli/devices_command.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/nvml.h"
#include "cli/serve_setup.h"
#include "core/inventory.h"
#include "engine/device_discovery.h"
#include "engine/llama_runtime.h"

namespace cohost::cli {
namespace {

struct DevicesFlags {
  std::string inventory;
  std::string output = "table";
  bool nvml = false;
};

// The GPUs as NVML sees them (no CUDA context is created), with the processes on each.
int RunNvml(const DevicesFlags& f) {
  auto nvml = agent::Nvml::Open();
  if (!nvml.ok()) {
    fprintf(stderr, "error: %s\n", nvml.status().message().c_str());
    return 1;
  }
  auto count = (*nvml)->DeviceCount();
  if (!count.ok()) {
    fprintf(stderr, "error: %s\n", count.status().message().c_str());
    return 1;
  }
  nlohmann::json out = nlohmann::json::array();
  for (int i = 0; i < *count; ++i) {
    auto d = (*nvml)->Device(i);
    if (!d.ok()) {
      fprintf(stderr, "error: %s\n", d.status().message().c_str());
      return 1;
    }
    nlohmann::json processes = nlohmann::json::array();
    if (auto ps = (*nvml)->ComputeProcesses(i); ps.ok()) {
      for (const auto& p : *ps) {
        processes.push_back({{"pid", p.pid}, {"used_mib", p.used_bytes ? nlohmann::json(*p.used_bytes >> 20) : nullptr}});
      }
    }
    out.push_back({{"index", d->index}, {"name", d->name}, {"uuid", d->uuid},
                   {"memory_mib", d->total_bytes >> 20}, {"used_mib", d->used_bytes >> 20},
                   {"free_mib", d->free_bytes >> 20}, {"processes", processes}});
  }
  if (f.output == "json") {
    printf("%s\n", nlohmann::json({{"driver", (*nvml)->driver_version()}, {"devices", out}}).dump(2).c_str());
    return 0;
  }
  printf("driver %s\n%-6s %12s %12s %10s  %s\n", (*nvml)->driver_version().c_str(), "INDEX", "MEMORY_MIB",
         "USED_MIB", "PROCESSES", "NAME");
  for (const auto& d : out) {
    printf("%-6d %12lld %12lld %10zu  %s\n", d["index"].get<int>(), d["memory_mib"].get<long long>(),
           d["used_mib"].get<long long>(), d["processes"].size(), d["name"].get<std::string>().c_str());
  }
  return 0;
}

int Run(const DevicesFlags& f) {
  if (f.nvml) return RunNvml(f);
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
  // What `cohost serve` would use: with no GPU and no --inventory it adds two virtual accelerators.
  bool has_accelerator = false;
  for (const auto& d : found) has_accelerator = has_accelerator || d.device.is_accelerator();
  const bool serve_defaults = !has_accelerator && f.inventory.empty();
  if (serve_defaults) {
    for (const Device& d : DefaultVirtualDevices()) found.push_back({d, d.memory_mib, "CPU (virtual, serve's default)"});
  }
  if (f.output == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : found) {
      out.push_back({{"id", d.device.id}, {"name", d.device.name}, {"kind", DeviceKindName(d.device.kind)},
                     {"virtual", d.device.is_virtual()}, {"memory_mib", d.device.memory_mib},
                     {"free_mib", d.free_mib}, {"link_group", d.device.link_group},
                     {"backend", d.backend_name}, {"cuda_index", d.device.cuda_index}});
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
  if (serve_defaults) {
    printf("\nNo GPU found: `cohost serve` without --inventory places copies on the two virtual accelerators\n"
           "above (they compute on the CPU). Give serve and this command --inventory FILE to declare others.\n");
  }
  return 0;
}

}  // namespace

void AddDevicesCommand(CLI::App& app) {
  auto flags = std::make_shared<DevicesFlags>();
  CLI::App* cmd = app.add_subcommand("devices", "List the devices `cohost serve` would use on this node (GPUs found by ggml, the host, and virtual ones)");
  cmd->add_option("--inventory", flags->inventory, "inventory file declaring virtual accelerators");
  cmd->add_option("--output,-o", flags->output, "table or json")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  cmd->add_flag("--nvml", flags->nvml, "list GPUs through NVML instead (no CUDA context), with each one's processes");
  cmd->callback([flags] { throw CLI::RuntimeError(Run(*flags)); });
}

}  // namespace cohost::cli
