#include "cli/serve_setup.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/engine_child.h"
#include "agent/node_devices.h"
#include "core/inventory.h"
#include "core/log.h"
#include "engine/device_discovery.h"
#include "engine/synthetic_model.h"

namespace cohost::cli {
namespace {

double HardwareCores() {
  return static_cast<double>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

StatusOr<ServeDevices> LoadServeDevices(const std::string& inventory_path,
                                        const std::string& cohost_binary,
                                        const std::optional<std::string>& cuda_visible_devices) {
  ServeDevices out;
  if (!inventory_path.empty()) {
    std::ifstream in(inventory_path);
    if (!in) return NotFound("cannot read inventory file " + inventory_path);
    std::stringstream ss;
    ss << in.rdbuf();
    ASSIGN_OR_RETURN(out.inventory, ParseInventoryJson(ss.str()));
    if (out.inventory.cpu_cores <= 0) out.inventory.cpu_cores = HardwareCores();
    return out;
  }
  agent::DiscoveryOptions o;
  o.cohost_binary = cohost_binary;
  o.with_cuda = engine::BuiltWithCuda();
  o.cuda_visible_devices = cuda_visible_devices;
  ASSIGN_OR_RETURN(agent::NodeDevices found, agent::DiscoverNodeDevices(o));
  out.inventory = std::move(found.inventory);
  out.inventory.cpu_cores = HardwareCores();
  out.nvml = std::move(found.nvml);
  out.driver_version = found.driver_version;
  log::Info("devices discovered", {{"source", found.source}, {"driver", found.driver_version}});
  bool has_accelerator = false;
  for (const Device& d : out.inventory.devices)
    has_accelerator = has_accelerator || d.is_accelerator();
  if (has_accelerator) return out;
  for (Device& d : DefaultVirtualDevices()) out.inventory.devices.push_back(std::move(d));
  return out;
}

std::vector<Device> DefaultVirtualDevices() {
  std::vector<Device> out;
  for (int i = 0; i < 2; ++i) {
    out.push_back({"vgpu" + std::to_string(i), "virtual accelerator " + std::to_string(i), DeviceKind::kVirtual, 8192,
                   "vlink0"});
  }
  return out;
}

StatusOr<int64_t> MeasureMemoryMib(const std::string& cohost_binary, const InferenceComponent& c) {
  agent::MemoryNeedQuery q;
  q.model_path = c.model_uri.rfind("file://", 0) == 0 ? c.model_uri.substr(7) : c.model_uri;
  q.context = c.startup.context_length;
  q.parallel = c.startup.parallel;
  ASSIGN_OR_RETURN(agent::MemoryNeed need, agent::MeasureMemoryNeedInChild(cohost_binary, q));
  return need.total_mib;
}

StatusOr<std::string> EnsureProbeModel(const std::string& data_dir) {
  const std::string path = data_dir + "/probe/overhead-probe.gguf";
  if (std::filesystem::exists(path)) return path;
  std::filesystem::create_directories(data_dir + "/probe");
  engine::SyntheticModelOptions o;
  o.vocab_path = engine::DefaultVocabPath();
  o.name = "cohost-overhead-probe";
  o.weight_type = engine::WeightType::kF16;
  o.shape.n_embd = 64;
  o.shape.n_layer = 1;
  o.shape.n_head = 2;
  o.shape.n_head_kv = 2;
  o.shape.n_ff = 128;
  o.shape.n_ctx_train = 256;
  RETURN_IF_ERROR(engine::WriteSyntheticModel(o, path));
  return path;
}

std::string BuildStamp(const std::string& binary) {
  std::error_code ec;
  auto size = std::filesystem::file_size(binary, ec);
  if (ec) return "unknown";
  auto mtime = std::filesystem::last_write_time(binary, ec);
  if (ec) return "unknown";
  return std::to_string(size) + "-" + std::to_string(mtime.time_since_epoch().count());
}

}  // namespace cohost::cli
