#include "support/harness.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace cohost::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "cohost-test-XXXXXX").string();
  char* p = mkdtemp(tmpl.data());
  if (!p) throw std::runtime_error("mkdtemp failed");
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool WaitUntil(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);  // polling interval, not a wait for state
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ExitResult RunCohost(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  TempDir dir;
  std::vector<std::string> argv{COHOST_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = sys::Process::Spawn({argv, dir.File("out.log")});
  ExitResult r;
  if (!p.ok()) return r;
  auto st = p->WaitFor(timeout);
  r.status = st ? *st : -1;
  r.output = ReadFile(dir.File("out.log"));
  return r;
}

void MakeModel(const std::string& output, const std::vector<std::string>& args) {
  std::vector<std::string> full{"make-model", "--output", output};
  full.insert(full.end(), args.begin(), args.end());
  ExitResult r = RunCohost(full, std::chrono::minutes(5));
  ASSERT_EQ(r.status, 0) << r.output;
}

const std::string& SmallModel() {
  static TempDir* dir = new TempDir();  // lives for the whole test binary run
  static std::string path = [] {
    std::string p = dir->File("small.gguf");
    MakeModel(p, {"--n-embd", "128", "--n-layer", "2", "--n-head", "4", "--n-ff", "256", "--seed", "7"});
    return p;
  }();
  return path;
}

std::unique_ptr<Runner> Runner::Start(const std::string& model, std::vector<std::string> extra_args) {
  auto dir = std::make_unique<TempDir>();
  std::string log = dir->File("runner.log");
  std::vector<std::string> argv{COHOST_BINARY, "runner", "--model", model, "--port", "0", "--threads", "2"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto p = sys::Process::Spawn({argv, log});
  if (!p.ok()) {
    ADD_FAILURE() << p.status().ToString();
    return nullptr;
  }
  std::unique_ptr<Runner> r(new Runner(std::move(*p), log));
  r->dir_ = std::move(dir);
  static const std::regex kListening(R"(msg=listening .*port=(\d+))");
  bool up = WaitUntil([&] {
    std::smatch m;
    std::string text = r->Log();
    if (std::regex_search(text, m, kListening)) {
      r->port_ = std::stoi(m[1]);
      return true;
    }
    return r->process_.TryWait().has_value();
  });
  if (!up || r->port_ == 0) {
    ADD_FAILURE() << "runner did not start:\n" << r->Log();
    return nullptr;
  }
  bool healthy = WaitUntil([&] {
    auto c = r->Client(std::chrono::seconds(2));
    auto resp = c.Send("GET", "/healthz");
    return resp.ok() && resp->status == 200;
  });
  if (!healthy) {
    ADD_FAILURE() << "runner not healthy:\n" << r->Log();
    return nullptr;
  }
  return r;
}

Runner::~Runner() {
  process_.Signal(SIGTERM);
  if (!process_.WaitFor(std::chrono::seconds(10))) {
    ADD_FAILURE() << "runner did not stop on SIGTERM:\n" << Log();
  }
}

net::Address Runner::address() const {
  net::Address a;
  a.host = "127.0.0.1";
  a.port = port_;
  return a;
}

net::HttpClient Runner::Client(std::chrono::milliseconds timeout) const {
  return net::HttpClient(address(), timeout);
}

json Runner::Stats() const {
  auto c = Client();
  auto r = c.Send("GET", "/stats");
  if (!r.ok() || r->status != 200) return json();
  return json::parse(r->body, nullptr, false);
}

JsonResponse PostJson(net::HttpClient& client, const std::string& target, const json& body) {
  JsonResponse out;
  auto r = client.Send("POST", target, body.dump());
  if (!r.ok()) {
    ADD_FAILURE() << r.status().ToString();
    return out;
  }
  out.status = r->status;
  out.raw = r->body;
  out.retry_after = r->Header("Retry-After");
  out.body = json::parse(r->body, nullptr, false);
  return out;
}

StreamResult PostStream(net::HttpClient& client, const std::string& target, const json& body) {
  StreamResult out;
  std::string buffer;
  auto r = client.SendStreaming("POST", target, body.dump(), [&](std::string_view piece) {
    buffer.append(piece);
    for (std::string& e : net::TakeSseEvents(buffer)) out.events.push_back(std::move(e));
    return true;
  });
  if (!r.ok()) {
    ADD_FAILURE() << r.status().ToString();
    return out;
  }
  out.status = r->status;
  for (const std::string& e : out.events) {
    if (e == "[DONE]") continue;
    json j = json::parse(e, nullptr, false);
    if (j.is_discarded()) continue;
    if (j.contains("usage") && !j["usage"].is_null()) out.usage = j["usage"];
    if (!j.contains("choices") || j["choices"].empty()) continue;
    const json& c = j["choices"][0];
    if (c.contains("text")) out.text += c["text"].get<std::string>();
    if (c.contains("delta") && c["delta"].contains("content"))
      out.text += c["delta"]["content"].get<std::string>();
    if (!c["finish_reason"].is_null()) out.finish_reason = c["finish_reason"].get<std::string>();
  }
  return out;
}

}  // namespace cohost::testing
