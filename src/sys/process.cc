#include "sys/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <thread>

extern char** environ;

namespace cohost::sys {
namespace {

std::string_view VariableName(std::string_view entry) { return entry.substr(0, entry.find('=')); }

}  // namespace

std::vector<std::string> MergeEnvironment(char* const* base, const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char* const* e = base; e && *e; ++e) {
    std::string_view name = VariableName(*e);
    bool replaced = false;
    for (const std::string& o : overrides) replaced = replaced || VariableName(o) == name;
    if (!replaced) env.emplace_back(*e);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

StatusOr<Process> Process::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return InvalidArgument("argv", "is empty");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const char* out = options.log_path.empty() ? "/dev/null" : options.log_path.c_str();
  // No O_CLOEXEC: fds 1 and 2 must survive exec.
  if (options.stdout_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  } else {
    posix_spawn_file_actions_addopen(&actions, 1, options.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, out, O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a terminal's Ctrl-C goes to the parent, which stops children itself.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> argv;
  for (const std::string& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  char** child_env = environ;
  if (!options.env.empty()) {
    env_strings = MergeEnvironment(environ, options.env);
    for (std::string& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    child_env = envp.data();
  }
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), child_env);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Internal("cannot start " + options.argv[0] + ": " + strerror(rc));
  return Process(pid);
}

Process::Process(Process&& other) noexcept : pid_(other.pid_), exit_status_(other.exit_status_) {
  other.pid_ = -1;
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    this->~Process();
    pid_ = other.pid_;
    exit_status_ = other.exit_status_;
    other.pid_ = -1;
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && !TryWait()) {
    kill(pid_, SIGKILL);
    int st;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

std::optional<int> Process::TryWait() {
  if (exit_status_ || pid_ <= 0) return exit_status_;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exit_status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  return exit_status_;
}

std::optional<int> Process::WaitFor(std::chrono::milliseconds timeout) {
  // waitpid has no timeout; poll with a short back-off up to the deadline.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (auto st = TryWait()) return st;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !TryWait()) kill(pid_, sig);
}

}  // namespace cohost::sys
