#include "engine/llama_runtime.h"

#include <llama.h>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace cohost::engine {
namespace {

std::atomic<bool> g_verbose{false};
thread_local std::string t_errors;

void LogCallback(ggml_log_level level, const char* text, void*) {
  if (g_verbose.load(std::memory_order_relaxed)) fputs(text, stderr);
  if (level == GGML_LOG_LEVEL_ERROR) {
    std::string line(text);
    while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
    if (line.empty()) return;
    if (!t_errors.empty()) t_errors += "; ";
    t_errors += line;
    if (t_errors.size() > 4096) t_errors.erase(0, t_errors.size() - 4096);
  }
}

}  // namespace

void InitLlamaRuntime(bool verbose) {
  static std::once_flag once;
  g_verbose = verbose;
  std::call_once(once, [] {
    llama_log_set(LogCallback, nullptr);
    llama_backend_init();
  });
}

std::string TakeLlamaErrors() {
  std::string out;
  out.swap(t_errors);
  return out;
}

}  // namespace cohost::engine
