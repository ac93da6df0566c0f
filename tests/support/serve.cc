#include "support/serve.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

namespace cohost::testing {

Serve::Serve(const std::string& data_dir, const std::string& inventory, size_t log_start,
             const std::vector<std::string>& extra_args)
    : data_dir_(data_dir), log_start_(log_start) {
  std::vector<std::string> argv{COHOST_BINARY, "serve", "--port", "0", "--data-dir", data_dir,
                                "--inventory", inventory, "--no-demo", "--threads-per-copy", "1"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto p = sys::Process::Spawn({argv, data_dir + "/serve.log"});
  EXPECT_TRUE(p.ok());
  if (!p.ok()) return;
  process_ = std::make_unique<sys::Process>(std::move(*p));
  static const std::regex kListening(R"(msg=listening .*port=(\d+))");
  EXPECT_TRUE(WaitUntil([&] {
    std::smatch m;
    std::string log = Log();
    auto from = log.cbegin() + static_cast<long>(std::min(log_start_, log.size()));
    if (std::regex_search(from, log.cend(), m, kListening)) {
      port_ = std::stoi(m[1]);
      return true;
    }
    return process_->TryWait().has_value();
  })) << Log();
}

Serve::~Serve() {
  if (process_) {
    process_->Signal(SIGTERM);
    process_->WaitFor(std::chrono::seconds(30));
  }
}

std::string Serve::Log() const { return ReadFile(data_dir_ + "/serve.log"); }

net::HttpClient Serve::Client(std::chrono::milliseconds timeout) const {
  net::Address a;
  a.host = "127.0.0.1";
  a.port = port_;
  return net::HttpClient(a, timeout);
}

JsonResponse Serve::Call(const std::string& method, const std::string& target, const json& body) {
  auto c = Client();
  auto r = c.Send(method, target, body.is_null() ? "" : body.dump());
  JsonResponse out;
  if (!r.ok()) return out;
  out.status = r->status;
  out.raw = r->body;
  out.body = json::parse(r->body, nullptr, false);
  return out;
}

int Serve::ReadyCopies(const std::string& component) {
  JsonResponse r = Call("GET", "/v1/inference-components/" + component);
  return r.status == 200 ? r.body["status"].value("ready_copies", 0) : -1;
}

json Serve::Copies(const std::string& component) {
  JsonResponse r = Call("GET", "/v1/inference-components/" + component);
  if (r.status != 200 || !r.body["status"].contains("copies")) return json::array();
  return r.body["status"]["copies"];
}

double Serve::Metric(const std::string& series) {
  auto r = Client().Send("GET", "/metrics", "");
  if (!r.ok()) return -1;
  size_t at = r->body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(r->body.substr(at + series.size() + 2));
}

void Serve::Kill() {
  process_->Signal(SIGKILL);
  process_->WaitFor(std::chrono::seconds(10));
  process_.reset();
}

json ComponentSpec(const std::string& name, const std::string& model, double accel, int copies) {
  return {{"name", name},
          {"endpoint", "main"},
          {"model", {{"uri", model}}},
          {"compute", {{"accelerators", accel}, {"cpu_cores", 0.25}}},
          {"startup", {{"context_length", 256}, {"parallel", 2}}},
          {"copies", {{"initial", copies}, {"min", 0}, {"max", 4}}}};
}

std::string WriteInventory(const TempDir& dir, int devices, int memory_mib) {
  json list = json::array();
  for (int i = 0; i < devices; ++i) {
    list.push_back({{"name", "vgpu" + std::to_string(i)}, {"memory_mib", memory_mib}, {"link_group", "a"}});
  }
  std::string path = dir.File("inventory.json");
  std::ofstream(path) << json({{"devices", list}, {"cpu_cores", 8}}).dump();
  return path;
}

}  // namespace cohost::testing
