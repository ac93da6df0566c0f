// A `cohost serve` child process for end-to-end tests: started on a free port with a data
// directory and an inventory of virtual devices, its control API and front door on loopback.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/harness.h"

namespace cohost::testing {

class Serve {
 public:
  // Starts `cohost serve --no-demo` and waits until it logs its port. `log_start`: where this
  // server's lines begin in the (appended) log file, for a second server on the same data dir.
  // `extra_args` go to `cohost serve` after the defaults.
  Serve(const std::string& data_dir, const std::string& inventory, size_t log_start = 0,
        const std::vector<std::string>& extra_args = {});
  ~Serve();  // SIGTERM, then waits

  std::string Log() const;
  int port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  net::HttpClient Client(std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

  // One JSON call to the control API (status 0 when the request itself failed).
  JsonResponse Call(const std::string& method, const std::string& target, const json& body = nullptr);
  // status.ready_copies of the component; -1 when it cannot be described.
  int ReadyCopies(const std::string& component);
  // status.copies of the component (empty when it cannot be described).
  json Copies(const std::string& component);
  // The value of one series of /metrics ("name{label=\"v\",...}", labels in name order), or -1
  // when it is absent.
  double Metric(const std::string& series);
  // SIGKILL, and waits for the process to end.
  void Kill();

 private:
  std::string data_dir_;
  std::unique_ptr<sys::Process> process_;
  int port_ = 0;
  size_t log_start_ = 0;
};

// A component spec on endpoint "main" with a small context (256 tokens, 2 slots).
json ComponentSpec(const std::string& name, const std::string& model, double accel, int copies);

// Writes an inventory file of `devices` virtual accelerators of `memory_mib` each (one link
// group) and 8 CPU cores; returns its path.
std::string WriteInventory(const TempDir& dir, int devices, int memory_mib);

}  // namespace cohost::testing
