// Load: clients that keep sending completions to a `cohost serve` until stopped, for tests that
// change a deployment under traffic. Any answer but a whole 200 with the asked number of tokens
// (and, streaming, a usage chunk and [DONE]) is a failure, kept with its reason.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "support/serve.h"

namespace cohost::testing {

class Load {
 public:
  Load(const Serve& serve, std::string model, int clients, bool stream, int max_tokens = 4)
      : model_(std::move(model)), max_tokens_(max_tokens) {
    for (int i = 0; i < clients; ++i) {
      threads_.emplace_back([this, &serve, stream] { Run(serve.Client(), stream); });
    }
  }
  ~Load() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }
  std::string failures() const {
    std::lock_guard<std::mutex> l(mu_);
    return failures_;
  }

 private:
  void Run(net::HttpClient client, bool stream) {
    const json body = {{"model", model_}, {"prompt", "hello"}, {"max_tokens", max_tokens_},
                       {"ignore_eos", true}, {"stream", stream}};
    while (!stop_) {
      std::string why = stream ? Streamed(client, body) : Whole(client, body);
      if (why.empty()) {
        ++ok_;
      } else {
        ++failed_;
        std::lock_guard<std::mutex> l(mu_);
        failures_ += why + "\n";
      }
    }
  }
  std::string Whole(net::HttpClient& client, const json& body) {
    auto r = client.Send("POST", "/v1/completions", body.dump());
    if (!r.ok()) return r.status().ToString();
    if (r->status != 200) return std::to_string(r->status) + " " + r->body;
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || j["usage"]["completion_tokens"] != max_tokens_) return "incomplete: " + r->body;
    return {};
  }
  std::string Streamed(net::HttpClient& client, const json& body) {
    std::string buffer;
    std::vector<std::string> events;
    json with_usage = body;
    with_usage["stream_options"] = {{"include_usage", true}};
    auto r = client.SendStreaming("POST", "/v1/completions", with_usage.dump(), [&](std::string_view piece) {
      buffer.append(piece);
      for (std::string& e : net::TakeSseEvents(buffer)) events.push_back(std::move(e));
      return true;
    });
    if (!r.ok()) return "stream: " + r.status().ToString();
    if (r->status != 200) return "stream: " + std::to_string(r->status) + " " + r->body;
    if (events.size() < 2 || events.back() != "[DONE]") return "stream without [DONE]";
    json usage = json::parse(events[events.size() - 2], nullptr, false);
    if (usage.is_discarded() || usage["usage"]["completion_tokens"] != max_tokens_)
      return "stream without the right usage: " + events[events.size() - 2];
    return {};
  }

  const std::string model_;
  const int max_tokens_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  mutable std::mutex mu_;
  std::string failures_;
  std::vector<std::thread> threads_;
};

}  // namespace cohost::testing
