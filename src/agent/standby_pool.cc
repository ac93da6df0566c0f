#include "agent/standby_pool.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "net/http_client.h"

namespace cohost::agent {

StandbyPool::StandbyPool(StandbyPoolOptions options) : options_(std::move(options)) {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
}

StandbyPool::~StandbyPool() = default;  // sys::Process kills what is still running

std::optional<std::string> StandbyPool::DeviceKey(const std::vector<std::string>& env) {
  static const std::string kVisible = "CUDA_VISIBLE_DEVICES=";
  for (const std::string& e : env) {
    if (e.rfind(kVisible, 0) != 0) continue;
    std::string devices = e.substr(kVisible.size());
    if (devices.find(',') != std::string::npos) return std::nullopt;
    return "cuda:" + devices;
  }
  return std::string();
}

Status StandbyPool::Want(const std::vector<std::string>& env) {
  const std::optional<std::string> key = DeviceKey(env);
  if (!key) return Status::Ok();
  auto it = standbys_.find(*key);
  if (it != standbys_.end()) {
    if (it->second.env == env && !it->second.process.TryWait()) return Status::Ok();
    standbys_.erase(it);  // died, or another environment on these devices: replace it (killed)
  }
  const std::string name = "standby-" + std::to_string(::getpid()) + "-" + std::to_string(serial_++);
  const std::string socket = options_.dir + "/" + name + ".sock";
  std::error_code ec;
  std::filesystem::remove(socket, ec);
  std::vector<std::string> argv = {options_.cohost_binary, "runner", "--standby", "--socket", socket,
                                   "--exit-with-parent"};
  if (options_.verbose) argv.push_back("--verbose");
  ASSIGN_OR_RETURN(sys::Process p, sys::Process::Spawn({argv, options_.dir + "/" + name + ".log", env}));
  log::Debug("standby started", {{"pid", p.pid()}, {"socket", socket}});
  standbys_.emplace(*key, Standby{std::move(p), socket, env});
  return Status::Ok();
}

std::optional<sys::Process> StandbyPool::Take(const std::vector<std::string>& env,
                                              const std::vector<std::string>& runner_args,
                                              const std::string& log_path) {
  const std::optional<std::string> key = DeviceKey(env);
  if (!key) return std::nullopt;
  auto it = standbys_.find(*key);
  if (it == standbys_.end() || it->second.env != env) return std::nullopt;
  Standby s = std::move(it->second);
  standbys_.erase(it);
  std::optional<sys::Process> taken;
  // A standby still starting up (it binds its socket first thing) is waited for, briefly: it
  // started before this copy was asked for, so it is never slower than a fresh process would be.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  net::Address a;
  a.unix_socket = s.socket;
  nlohmann::json body = {{"args", runner_args}, {"log_path", log_path}};
  std::string why;
  while (!s.process.TryWait()) {
    net::HttpClient client(a, std::chrono::milliseconds(1000));
    auto r = client.Send("POST", "/standby/start", body.dump());
    if (r.ok()) {
      if (r->status == 200) taken = std::move(s.process);
      else why = "answered " + std::to_string(r->status) + ": " + r->body;
      break;
    }
    why = r.status().message();
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!taken) log::Debug("standby passed over", {{"socket", s.socket}, {"error", why}});
  if (Status w = Want(env); !w.ok()) log::Warn("cannot start a standby runner", {{"error", w.message()}});
  return taken;
}

int StandbyPool::size() {
  int n = 0;
  for (auto& [key, s] : standbys_) n += s.process.TryWait() ? 0 : 1;
  return n;
}

}  // namespace cohost::agent
