// Integration-test harness: temporary directories, generated models, and real runner processes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/http_client.h"
#include "sys/process.h"

namespace cohost::testing {

using json = nlohmann::json;

// A directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Polls `ready` until it returns true or `timeout` passes. Returns whether it became true.
bool WaitUntil(const std::function<bool()>& ready,
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

std::string ReadFile(const std::string& path);

// Runs `cohost make-model` with `args` writing `output`. Fails the test on error.
void MakeModel(const std::string& output, const std::vector<std::string>& args);

// The small model most tests share (written once per test binary run, in a shared temp dir):
// 128 wide, 2 layers, 32000-token vocabulary. Loads in well under a second.
const std::string& SmallModel();

// A `cohost runner` child process on a free port.
class Runner {
 public:
  // Starts the runner and waits until /healthz answers. Fails the test if it does not.
  static std::unique_ptr<Runner> Start(const std::string& model, std::vector<std::string> extra_args = {});
  ~Runner();

  net::HttpClient Client(std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  net::Address address() const;
  int port() const { return port_; }
  std::string Log() const { return ReadFile(log_path_); }
  json Stats() const;  // GET /stats
  sys::Process& process() { return process_; }

 private:
  Runner(sys::Process p, std::string log_path) : process_(std::move(p)), log_path_(std::move(log_path)) {}
  sys::Process process_;
  std::string log_path_;
  std::unique_ptr<TempDir> dir_;
  int port_ = 0;
};

// Result of running a command to completion.
struct ExitResult {
  int status = -1;  // -1 when it did not end within the timeout
  std::string output;
};
ExitResult RunCohost(const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60));

// POSTs `body` (JSON) and returns status + parsed body (null JSON when the body is not JSON).
struct JsonResponse {
  int status = 0;
  json body;
  std::string raw;
  std::string retry_after;
};
JsonResponse PostJson(net::HttpClient& client, const std::string& target, const json& body);

// A streaming request's result: the data payloads of its SSE events, in order.
struct StreamResult {
  int status = 0;
  std::vector<std::string> events;  // raw "data:" payloads, including "[DONE]"
  std::string text;                  // concatenated choice text / delta content
  json usage;                        // from the usage chunk, if any
  std::string finish_reason;
};
StreamResult PostStream(net::HttpClient& client, const std::string& target, const json& body);

}  // namespace cohost::testing
