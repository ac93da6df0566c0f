// ProcessMemoryReader: what a runner process really holds on a device (issue 13).
//
// A copy's reservation is its llama.cpp dry run plus the device's measured per-process overhead;
// these readers say what the process actually uses, so the node controller can publish used
// against reserved and flag a copy that exceeds its reservation.
//   - CUDA GPUs: the driver's per-process figure through NVML (context, cuBLAS workspace, ggml
//     pools and buffers: what nvidia-smi shows for the process).
//   - Virtual devices and the host (they compute on the CPU): the process's resident memory,
//     VmRSS from /proc/PID/status. VmRSS (= RssAnon + RssFile + RssShmem) counts the model's
//     file-backed pages too: with mmap two copies of one model share those pages in RAM, but
//     each copy reserves its own weights, as it would on a GPU, so counting them per copy keeps
//     used comparable with reserved. Memory allocated but never touched (a KV cache not yet
//     written) is not resident and not counted.
// The figure for the host and virtual devices is per process, not per device: a copy on two
// virtual devices is split between them by the caller (agent/copy_memory.h).
//
// Thread safety: implementations are immutable; any thread may call them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/nvml.h"
#include "core/device.h"
#include "core/status.h"

namespace cohost::agent {

class ProcessMemoryReader {
 public:
  virtual ~ProcessMemoryReader() = default;
  // Bytes process `pid` holds on `device`; nullopt when that cannot be told (the process is
  // gone, the driver does not list it or does not say, or the reader does not handle the
  // device's kind).
  virtual std::optional<int64_t> ProcessUsedBytes(pid_t pid, const Device& device) const = 0;
  // Bytes in use on `device` by every process, as its driver reports them; nullopt for devices
  // without such a figure (virtual devices, the host) or when the driver cannot be asked.
  virtual std::optional<int64_t> DeviceUsedBytes(const Device& device) const = 0;
};

// VmRSS of the text of a /proc/PID/status file, in bytes.
// Errors: kDataLoss when it has no VmRSS line with a number of kB (kernel threads, zombies).
StatusOr<int64_t> ParseResidentBytes(std::string_view status_text);

// Virtual devices and the host: the process's VmRSS. CUDA devices: nullopt.
class ProcStatusReader : public ProcessMemoryReader {
 public:
  // `proc_root`: where procfs is mounted (a test may point it at a directory of its own).
  explicit ProcStatusReader(std::string proc_root = "/proc") : proc_root_(std::move(proc_root)) {}
  std::optional<int64_t> ProcessUsedBytes(pid_t pid, const Device& device) const override;
  std::optional<int64_t> DeviceUsedBytes(const Device& device) const override {
    return std::nullopt;
  }

 private:
  const std::string proc_root_;
};

// CUDA devices through NVML (the device's cuda_index is NVML's index); other kinds: nullopt.
// The process must be listed under its pid as this process sees it: in a container with its
// own PID namespace NVML's host pids do not match, and the figure is unknown.
class NvmlMemoryReader : public ProcessMemoryReader {
 public:
  explicit NvmlMemoryReader(std::shared_ptr<const Nvml> nvml) : nvml_(std::move(nvml)) {}
  std::optional<int64_t> ProcessUsedBytes(pid_t pid, const Device& device) const override;
  std::optional<int64_t> DeviceUsedBytes(const Device& device) const override;

 private:
  const std::shared_ptr<const Nvml> nvml_;
};

// The node's reader: CUDA devices go to `cuda` (null: unknown), every other kind to `host`.
class NodeMemoryReader : public ProcessMemoryReader {
 public:
  NodeMemoryReader(std::unique_ptr<ProcessMemoryReader> host,
                   std::unique_ptr<ProcessMemoryReader> cuda)
      : host_(std::move(host)), cuda_(std::move(cuda)) {}
  std::optional<int64_t> ProcessUsedBytes(pid_t pid, const Device& device) const override;
  std::optional<int64_t> DeviceUsedBytes(const Device& device) const override;

 private:
  const ProcessMemoryReader* For(const Device& device) const;
  const std::unique_ptr<ProcessMemoryReader> host_;
  const std::unique_ptr<ProcessMemoryReader> cuda_;
};

}  // namespace cohost::agent
