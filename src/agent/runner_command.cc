#include "agent/runner_command.h"

namespace cohost::agent {

StatusOr<std::vector<std::string>> BuildRunnerArgv(const RunnerLaunch& l) {
  if (l.cohost_binary.empty()) return InvalidArgument("cohost_binary", "is empty");
  if (l.model_path.empty()) return InvalidArgument("model_path", "is empty");
  if (l.socket_path.empty()) return InvalidArgument("socket_path", "is empty");
  if (l.context < 1) return InvalidArgument("context", "must be at least 1");
  if (l.parallel < 1) return InvalidArgument("parallel", "must be at least 1");
  if (l.threads < 0) return InvalidArgument("threads", "must be 0 (all cores) or more");
  if (l.gpu_layers < -1) return InvalidArgument("gpu_layers", "must be -1 (all) or more");
  if (l.memory_limit_mib < 0) return InvalidArgument("memory_limit_mib", "must be 0 (no limit) or more");
  if (l.cuda_devices) {
    for (int d : *l.cuda_devices) {
      if (d < 0) return InvalidArgument("cuda_devices", "device indices must be 0 or more");
    }
  }
  if (l.mps) {
    if (!l.cuda_devices || l.cuda_devices->empty()) return InvalidArgument("mps", "MPS limits need CUDA devices");
    if (l.mps->active_thread_percentage < 1 || l.mps->active_thread_percentage > 100) {
      return InvalidArgument("mps.active_thread_percentage", "must be 1..100");
    }
    if (l.mps->device_memory_mib.size() != l.cuda_devices->size()) {
      return InvalidArgument("mps.device_memory_mib", "needs one limit per CUDA device");
    }
    for (int64_t mib : l.mps->device_memory_mib) {
      if (mib < 1) return InvalidArgument("mps.device_memory_mib", "limits must be at least 1 MiB");
    }
  }
  std::vector<std::string> argv{l.cohost_binary,
                                "runner",
                                "--model", l.model_path,
                                "--socket", l.socket_path,
                                "--parallel", std::to_string(l.parallel),
                                "--context", std::to_string(l.context),
                                "--threads", std::to_string(l.threads),
                                "--gpu-layers", std::to_string(l.gpu_layers),
                                "--exit-with-parent"};
  if (!l.alias.empty()) {
    argv.push_back("--alias");
    argv.push_back(l.alias);
  }
  if (!l.load_mode.empty() && l.load_mode != "auto") {
    argv.push_back("--load-mode");
    argv.push_back(l.load_mode);
  }
  if (l.memory_limit_mib > 0) {
    argv.push_back("--memory-limit-mib");
    argv.push_back(std::to_string(l.memory_limit_mib));
  }
  return argv;
}

std::vector<std::string> RunnerEnvironment(const RunnerLaunch& l) {
  if (!l.cuda_devices) return {};
  std::string list;
  for (int d : *l.cuda_devices) list += (list.empty() ? "" : ",") + std::to_string(d);
  // PCI bus order: the indices NVML uses, which the agent discovered and pinned by.
  std::vector<std::string> env{"CUDA_DEVICE_ORDER=PCI_BUS_ID", "CUDA_VISIBLE_DEVICES=" + list};
  if (l.mps) {
    env.push_back("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=" + std::to_string(l.mps->active_thread_percentage));
    // "<device>=<N>M" per device, as the runner numbers them (its visible devices, in order).
    std::string limits;
    for (size_t i = 0; i < l.mps->device_memory_mib.size(); ++i) {
      limits += (limits.empty() ? "" : ",") + std::to_string(i) + "=" + std::to_string(l.mps->device_memory_mib[i]) + "M";
    }
    env.push_back("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=" + limits);
  }
  return env;
}

}  // namespace cohost::agent
