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

std::string StandbyPool::Key(const std::vector<std::string>& env) {
  std::string k;
  for (const std::string& e : env) k += e + '\n';
  return k;
}

Status StandbyPool::Want(const std::vector<std::string>& env) {
  const std::string key = Key(env);
  auto it = standbys_.find(key);
  if (it != standbys_.end()) {
    if (!it->second.process.TryWait()) return Status::Ok();
    standbys_.erase(it);  // died: replace it
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
  standbys_.emplace(key, Standby{std::move(p), socket});
  return Status::Ok();
}

std::optional<sys::Process> StandbyPool::Take(const std::vector<std::string>& env,
                                              const std::vector<std::string>& runner_args,
                                              const std::string& log_path) {
  auto it = standbys_.find(Key(env));
  if (it == standbys_.end()) return std::nullopt;
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
