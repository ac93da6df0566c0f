#include "profile/stream_load.h"

#include <algorithm>
#include <barrier>
#include <optional>
#include <thread>

namespace cohost::profile {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct RequestResult {
  int client = 0;
  bool ok = false;
  std::string error;
  Clock::time_point sent, first_chunk, last_chunk, ended;
  bool got_text = false;
  std::vector<Clock::time_point> chunks;  // arrival of each text-bearing chunk
  int completion_tokens = -1;
  int prompt_tokens = -1;
};

std::string Prompt(const std::string& word, int words) {
  std::string p;
  for (int i = 0; i < words; ++i) {
    if (i) p += ' ';
    p += word;
  }
  return p;
}

json RequestBody(const LoadOptions& o, int words, int max_tokens, bool stream) {
  json b = {{"prompt", Prompt(o.word, words)}, {"max_tokens", max_tokens}, {"temperature", 0},
            {"ignore_eos", true}, {"stream", stream}};
  if (stream) b["stream_options"] = {{"include_usage", true}};
  if (!o.model.empty()) b["model"] = o.model;
  return b;
}

StatusOr<int> CountPromptTokens(net::HttpClient& client, const LoadOptions& o, int words) {
  auto r = client.Send("POST", "/v1/completions", RequestBody(o, words, 1, false).dump());
  if (!r.ok()) return Unavailable("cannot reach " + o.address.ToString() + ": " + r.status().message());
  if (r->status != 200) {
    return Unavailable("calibration request: HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 300));
  }
  try {
    return json::parse(r->body).at("usage").at("prompt_tokens").get<int>();
  } catch (const std::exception& e) {
    return Unavailable(std::string("calibration request: bad response: ") + e.what());
  }
}

void RunOne(net::HttpClient& client, const std::string& body, RequestResult& res) {
  std::string buffer;
  bool done = false;
  res.sent = Clock::now();
  auto on_body = [&](std::string_view piece) {
    const auto now = Clock::now();
    buffer.append(piece);
    for (std::string& ev : net::TakeSseEvents(buffer)) {
      if (ev == "[DONE]") {
        done = true;
        continue;
      }
      json j = json::parse(ev, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) {
        if (res.error.empty()) res.error = "unparsable SSE event: " + ev.substr(0, 200);
        continue;
      }
      if (j.contains("error")) {
        if (res.error.empty()) res.error = "error event: " + j["error"].dump();
        continue;
      }
      if (j.contains("usage") && j["usage"].is_object()) {
        const json& u = j["usage"];
        res.completion_tokens = u.value("completion_tokens", -1);
        res.prompt_tokens = u.value("prompt_tokens", -1);
      }
      if (j.contains("choices") && j["choices"].is_array() && !j["choices"].empty()) {
        const json& c = j["choices"][0];
        if (c.contains("text") && c["text"].is_string() && !c["text"].get_ref<const std::string&>().empty()) {
          if (!res.got_text) res.first_chunk = now;
          res.got_text = true;
          res.last_chunk = now;
          res.chunks.push_back(now);
        }
      }
    }
    return true;
  };
  auto r = client.SendStreaming("POST", "/v1/completions", body, on_body);
  res.ended = Clock::now();
  if (!r.ok()) {
    res.error = r.status().ToString();
  } else if (r->status != 200) {
    res.error = "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 300);
  } else if (res.error.empty() && !done) {
    res.error = "stream ended without [DONE]";
  } else if (res.error.empty() && res.completion_tokens < 0) {
    res.error = "no usage chunk";
  } else if (res.error.empty() && !res.got_text) {
    res.error = "no text chunk";
  }
  res.ok = res.error.empty();
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

Quantiles Summarize(const std::vector<double>& v) {
  Quantiles q;
  if (v.empty()) return q;
  q.p50 = Percentile(v, 50);
  q.p99 = Percentile(v, 99);
  q.min = *std::min_element(v.begin(), v.end());
  q.max = *std::max_element(v.begin(), v.end());
  return q;
}

json ToJson(const Quantiles& q) { return {{"p50", q.p50}, {"p99", q.p99}, {"min", q.min}, {"max", q.max}}; }

}  // namespace

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(rank);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

StatusOr<Calibration> CalibratePrompt(const LoadOptions& o, int prompt_tokens, bool adjust) {
  net::HttpClient client(o.address, o.timeout);
  Calibration c;
  c.words = std::max(1, prompt_tokens - 1);  // one token per word plus BOS, as a first guess
  ASSIGN_OR_RETURN(c.prompt_tokens, CountPromptTokens(client, o, c.words));
  for (int i = 0; adjust && i < 4 && c.prompt_tokens != prompt_tokens; ++i) {
    const int next = std::max(1, c.words + (prompt_tokens - c.prompt_tokens));
    if (next == c.words) break;
    c.words = next;
    ASSIGN_OR_RETURN(c.prompt_tokens, CountPromptTokens(client, o, c.words));
  }
  return c;
}

LoadResult RunStreamLoad(const LoadOptions& o) {
  const std::string body = RequestBody(o, o.prompt_words, o.max_tokens, true).dump();
  const int clients = std::max(1, o.clients);
  std::vector<std::vector<RequestResult>> results(static_cast<size_t>(clients));
  std::barrier start(clients + 1);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      net::HttpClient client(o.address, o.timeout);
      (void)client.Send("GET", "/healthz");  // opens the kept-alive connection
      start.arrive_and_wait();
      auto& mine = results[static_cast<size_t>(c)];
      mine.resize(static_cast<size_t>(std::max(1, o.requests_per_client)));
      for (auto& r : mine) {
        r.client = c;
        RunOne(client, body, r);
      }
    });
  }
  start.arrive_and_wait();
  const auto run_start = Clock::now();
  for (auto& t : threads) t.join();
  const auto run_end = Clock::now();

  LoadResult out;
  out.clients = clients;
  std::vector<double> ttft_ms, itl_ms, per_stream_tps;
  int64_t chunks = 0;
  std::optional<Clock::time_point> first_token, last_token, first_sent, last_end;
  for (auto& per_client : results) {
    for (auto& r : per_client) {
      ++out.requests;
      first_sent = first_sent ? std::min(*first_sent, r.sent) : r.sent;
      last_end = last_end ? std::max(*last_end, r.ended) : r.ended;
      if (!r.ok) {
        ++out.errors;
        if (out.error_samples.size() < 5) out.error_samples.push_back("client " + std::to_string(r.client) + ": " + r.error);
        continue;
      }
      ++out.ok;
      out.completion_tokens += r.completion_tokens;
      out.decode_tokens += std::max(0, r.completion_tokens - 1);
      chunks += static_cast<int64_t>(r.chunks.size());
      ttft_ms.push_back(Ms(r.first_chunk - r.sent));
      for (size_t i = 1; i < r.chunks.size(); ++i) itl_ms.push_back(Ms(r.chunks[i] - r.chunks[i - 1]));
      first_token = first_token ? std::min(*first_token, r.first_chunk) : r.first_chunk;
      last_token = last_token ? std::max(*last_token, r.last_chunk) : r.last_chunk;
      const double span = Seconds(r.last_chunk - r.first_chunk);
      if (span > 0) per_stream_tps.push_back(static_cast<double>(r.completion_tokens - 1) / span);
    }
  }
  out.decode_window_s = first_token ? Seconds(*last_token - *first_token) : 0;
  out.e2e_window_s = first_sent ? Seconds(*last_end - *first_sent) : 0;
  if (out.decode_window_s > 0) out.decode_tokens_per_s = static_cast<double>(out.decode_tokens) / out.decode_window_s;
  if (out.e2e_window_s > 0) {
    out.e2e_tokens_per_s = static_cast<double>(out.completion_tokens) / out.e2e_window_s;
    out.requests_per_s = static_cast<double>(out.ok) / out.e2e_window_s;
  }
  // A run so short that every token reached the client in one read (a tiny model, a few tokens)
  // has no decode window: its end-to-end rate, a lower bound, stands in rather than 0.
  if (out.decode_window_s <= 0 && out.decode_tokens > 0) out.decode_tokens_per_s = out.e2e_tokens_per_s;
  for (double v : per_stream_tps) out.per_stream_tokens_per_s += v;
  if (!per_stream_tps.empty()) out.per_stream_tokens_per_s /= static_cast<double>(per_stream_tps.size());
  if (first_token && out.ok > 0) {
    Clock::time_point t0 = *first_token, t1 = *last_token;
    for (auto& per_client : results)
      for (auto& r : per_client)
        if (r.ok) t0 = std::max(t0, r.first_chunk), t1 = std::min(t1, r.last_chunk);
    if (t1 > t0 && chunks > 0) {
      int64_t n = 0;
      for (auto& per_client : results)
        for (auto& r : per_client)
          if (r.ok) n += std::count_if(r.chunks.begin(), r.chunks.end(), [&](auto t) { return t > t0 && t <= t1; });
      out.steady_window_s = Seconds(t1 - t0);
      out.steady_tokens_per_s = static_cast<double>(n) * static_cast<double>(out.completion_tokens) /
                                static_cast<double>(chunks) / out.steady_window_s;
    }
  }
  if (out.completion_tokens > 0) out.chunks_per_token = static_cast<double>(chunks) / static_cast<double>(out.completion_tokens);
  out.ttft_ms = Summarize(ttft_ms);
  out.itl_ms = Summarize(itl_ms);
  out.wall_s = Seconds(run_end - run_start);
  return out;
}

json LoadResult::ToJson() const {
  return {{"clients", clients},
          {"requests", requests},
          {"ok", ok},
          {"errors", errors},
          {"error_samples", error_samples},
          {"completion_tokens", completion_tokens},
          {"decode_tokens", decode_tokens},
          {"decode_window_s", decode_window_s},
          {"decode_tokens_per_s", decode_tokens_per_s},
          {"e2e_window_s", e2e_window_s},
          {"e2e_tokens_per_s", e2e_tokens_per_s},
          {"requests_per_s", requests_per_s},
          {"per_stream_decode_tokens_per_s_mean", per_stream_tokens_per_s},
          {"steady_decode_tokens_per_s", steady_tokens_per_s},
          {"steady_window_s", steady_window_s},
          {"chunks_per_token", chunks_per_token},
          {"ttft_ms", profile::ToJson(ttft_ms)},
          {"itl_ms", profile::ToJson(itl_ms)},
          {"wall_s", wall_s}};
}

}  // namespace cohost::profile
