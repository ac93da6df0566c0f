#include "agent/process_memory.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace cohost::agent {

StatusOr<int64_t> ParseResidentBytes(std::string_view text) {
  constexpr std::string_view kKey = "VmRSS:";
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string_view line =
        text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    at = end == std::string_view::npos ? text.size() : end + 1;
    if (line.substr(0, kKey.size()) != kKey) continue;
    line.remove_prefix(kKey.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    int64_t kib = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), kib);
    std::string_view unit(ptr, static_cast<size_t>(line.data() + line.size() - ptr));
    if (ec != std::errc() || kib < 0 || unit != " kB") break;
    return kib * 1024;
  }
  return DataLoss("no VmRSS line in kB in /proc/PID/status");
}

std::optional<int64_t> ProcStatusReader::ProcessUsedBytes(pid_t pid, const Device& device) const {
  if (device.kind == DeviceKind::kCuda || pid <= 0) return std::nullopt;
  std::ifstream in(proc_root_ + "/" + std::to_string(pid) + "/status");
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  StatusOr<int64_t> rss = ParseResidentBytes(text.str());
  if (!rss.ok()) return std::nullopt;
  return *rss;
}

std::optional<int64_t> NvmlMemoryReader::ProcessUsedBytes(pid_t pid, const Device& device) const {
  if (device.kind != DeviceKind::kCuda || device.cuda_index < 0 || !nvml_) return std::nullopt;
  auto processes = nvml_->ComputeProcesses(device.cuda_index);
  if (!processes.ok()) return std::nullopt;
  for (const NvmlProcessInfo& p : *processes) {
    if (p.pid == pid) return p.used_bytes;
  }
  return std::nullopt;
}

std::optional<int64_t> NvmlMemoryReader::DeviceUsedBytes(const Device& device) const {
  if (device.kind != DeviceKind::kCuda || device.cuda_index < 0 || !nvml_) return std::nullopt;
  auto info = nvml_->Device(device.cuda_index);
  if (!info.ok()) return std::nullopt;
  return info->used_bytes;
}

const ProcessMemoryReader* NodeMemoryReader::For(const Device& device) const {
  return device.kind == DeviceKind::kCuda ? cuda_.get() : host_.get();
}

std::optional<int64_t> NodeMemoryReader::ProcessUsedBytes(pid_t pid, const Device& device) const {
  const ProcessMemoryReader* r = For(device);
  return r ? r->ProcessUsedBytes(pid, device) : std::nullopt;
}

std::optional<int64_t> NodeMemoryReader::DeviceUsedBytes(const Device& device) const {
  const ProcessMemoryReader* r = For(device);
  return r ? r->DeviceUsedBytes(device) : std::nullopt;
}

}  // namespace cohost::agent
