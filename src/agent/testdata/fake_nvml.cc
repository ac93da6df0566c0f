// A stand-in for libnvidia-ml.so.1 with the entry points agent/nvml.cc uses, for nvml_test.cc:
// two devices, and compute processes the test sets through FakeNvml_SetProcesses (found with
// dlsym on the same handle). Not thread-safe; one test at a time.
#include <cstring>
#include <vector>

namespace {

struct Process {
  unsigned int pid;
  unsigned long long used;
  unsigned int gpu_instance;
  unsigned int compute_instance;
};

int g_init_result = 0;
int g_initialised = 0;
std::vector<Process> g_processes[2];
int g_device_tokens[2];

int DeviceIndex(void* device) {
  for (int i = 0; i < 2; ++i) {
    if (device == &g_device_tokens[i]) return i;
  }
  return -1;
}

int Copy(char* out, unsigned int length, const char* text) {
  if (std::strlen(text) + 1 > length) return 7;  // NVML_ERROR_INSUFFICIENT_SIZE
  std::strcpy(out, text);
  return 0;
}

}  // namespace

extern "C" {

// Test controls.
void FakeNvml_SetInitResult(int rc) { g_init_result = rc; }
int FakeNvml_Initialised() { return g_initialised; }
void FakeNvml_SetProcesses(int device, int count, const unsigned int* pids,
                           const unsigned long long* used) {
  g_processes[device].clear();
  for (int i = 0; i < count; ++i) g_processes[device].push_back({pids[i], used[i], 0, 0});
}

int nvmlInit_v2() {
  if (g_init_result == 0) ++g_initialised;
  return g_init_result;
}
int nvmlShutdown() {
  --g_initialised;
  return 0;
}
const char* nvmlErrorString(int rc) { return rc == 9 ? "Driver Not Loaded" : "Unknown Error"; }
int nvmlSystemGetDriverVersion(char* out, unsigned int length) {
  return Copy(out, length, "999.12.3");
}
int nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = 2;
  return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  if (index >= 2) return 2;  // NVML_ERROR_INVALID_ARGUMENT
  *device = &g_device_tokens[index];
  return 0;
}
int nvmlDeviceGetName(void* device, char* out, unsigned int length) {
  return Copy(out, length, DeviceIndex(device) == 0 ? "Fake H200" : "Fake L4");
}
int nvmlDeviceGetUUID(void* device, char* out, unsigned int length) {
  return Copy(out, length, DeviceIndex(device) == 0 ? "GPU-00000000-fake" : "GPU-11111111-fake");
}
int nvmlDeviceGetMemoryInfo(void* device, unsigned long long* memory) {  // total, free, used
  const unsigned long long mib = 1ULL << 20;
  const int i = DeviceIndex(device);
  memory[0] = (i == 0 ? 143771 : 23034) * mib;
  memory[2] = (i == 0 ? 1000 : 0) * mib;
  memory[1] = memory[0] - memory[2];
  return 0;
}
int nvmlDeviceGetComputeRunningProcesses_v3(void* device, unsigned int* count, Process* out) {
  const std::vector<Process>& list = g_processes[DeviceIndex(device)];
  if (*count < list.size()) {
    *count = static_cast<unsigned int>(list.size());
    return 7;  // NVML_ERROR_INSUFFICIENT_SIZE
  }
  *count = static_cast<unsigned int>(list.size());
  for (size_t i = 0; i < list.size(); ++i) out[i] = list[i];
  return 0;
}

}  // extern "C"
