// stream_load: a load generator for OpenAI-compatible streaming completions (cohost runner,
// llama-server, ...).
//
//   stream_load --address 127.0.0.1:8080 --clients 16 --prompt-tokens 128 --max-tokens 128 [--json]
//
// Each of --clients threads opens one kept-alive connection (a GET /healthz before the start, so
// connection set-up is not part of any timing), waits at a start barrier, then sends
// --requests-per-client streaming POST /v1/completions one after another, with
//   {"prompt": P words, "max_tokens": T, "temperature": 0, "ignore_eos": true, "stream": true,
//    "stream_options": {"include_usage": true}}
// so every request generates exactly T tokens. Before the run, one non-streaming request with
// max_tokens 1 calibrates the prompt: the number of words is adjusted until the server's
// usage.prompt_tokens equals --prompt-tokens (when the tokenizer allows; the figure reached is
// reported). That request also warms the server up.
//
// Per request it records the send time, the arrival time of every SSE chunk that carries text,
// and usage.completion_tokens / usage.prompt_tokens from the final usage chunk.
//
// Definitions (all times from std::chrono::steady_clock, on the client):
//   TTFT            send time -> arrival of the first chunk with non-empty text.
//   ITL             gap between consecutive text chunks of one stream. The server may coalesce
//                   several tokens into one chunk when the client side lags, so this is
//                   inter-chunk latency; chunks_per_token in the output shows how close it is to
//                   per-token latency.
//   decode tokens/s (the headline figure, comparable to llama-batched-bench's S_TG)
//                   = sum over streams of (completion_tokens - 1)       [tokens after the first]
//                     / (latest last-text-chunk time - earliest first-text-chunk time)
//                   The first token of a stream is the prefill's product, so it is left out of
//                   the numerator, as batched-bench leaves prefill out of S_TG. The window runs
//                   over all streams together, so prefill of late-joining streams that overlaps
//                   decoding of others is inside it (an honest aggregate, a slight penalty
//                   against batched-bench, whose streams all start decoding at the same step).
//   end-to-end tokens/s
//                   = sum of completion_tokens / (latest response end - earliest send).
//   per-stream decode tokens/s
//                   = mean over streams of (completion_tokens - 1) / (last chunk - first chunk).
//   steady decode tokens/s (a diagnostic)
//                   = text chunks arriving while every stream is decoding, i.e. in
//                     (latest first chunk, earliest last chunk], times tokens per chunk,
//                     / that window. It leaves out the ramp-up and ramp-down; 0 when the
//                     streams do not overlap.
// Percentiles interpolate linearly between closest ranks (p50 of {1,2,3,4} is 2.5).
//
// A request counts as an error when it fails to connect, gets a non-200 status, carries an
// "error" object in the stream, ends without "data: [DONE]", or reports no usage. Errors are
// counted, the first few are printed, and the exit status is 1 when any occurred.
//
// Output: a human-readable summary on stdout, or with --json one JSON object.
#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <variant>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/http_client.h"

namespace {

using Clock = std::chrono::steady_clock;
using cohost::net::Address;
using cohost::net::HttpClient;
using nlohmann::json;

struct Options {
  std::string address = "127.0.0.1:8080";
  int clients = 1;
  int requests_per_client = 1;
  int prompt_tokens = 128;
  int max_tokens = 128;
  std::string model;      // empty: the server's default
  std::string word = "hello";
  int timeout_s = 600;
  bool calibrate = true;
  bool json = false;
};

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

[[noreturn]] void Usage(const char* why) {
  if (why) std::fprintf(stderr, "stream_load: %s\n\n", why);
  std::fprintf(stderr,
               "usage: stream_load [--address HOST:PORT|unix:PATH] [--clients N]\n"
               "                   [--requests-per-client R] [--prompt-tokens P] [--max-tokens T]\n"
               "                   [--model NAME] [--word WORD] [--timeout-s S] [--no-calibrate] [--json]\n"
               "Streams completions from N concurrent clients and reports decode tokens/s,\n"
               "TTFT and inter-chunk latency. See the header of bench/stream_load.cc.\n");
  std::exit(why ? 2 : 0);
}

int ParseInt(const std::string& flag, const char* v, int min) {
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  if (!end || *end || n < min || n > 1000000) Usage((flag + " needs an integer >= " + std::to_string(min)).c_str());
  return static_cast<int>(n);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage((a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--help" || a == "-h") Usage(nullptr);
    else if (a == "--address") o.address = value();
    else if (a == "--clients") o.clients = ParseInt(a, value(), 1);
    else if (a == "--requests-per-client") o.requests_per_client = ParseInt(a, value(), 1);
    else if (a == "--prompt-tokens") o.prompt_tokens = ParseInt(a, value(), 1);
    else if (a == "--max-tokens") o.max_tokens = ParseInt(a, value(), 1);
    else if (a == "--model") o.model = value();
    else if (a == "--word") o.word = value();
    else if (a == "--timeout-s") o.timeout_s = ParseInt(a, value(), 1);
    else if (a == "--no-calibrate") o.calibrate = false;
    else if (a == "--json") o.json = true;
    else Usage(("unknown argument " + a).c_str());
  }
  return o;
}

std::string Prompt(const std::string& word, int words) {
  std::string p;
  for (int i = 0; i < words; ++i) {
    if (i) p += ' ';
    p += word;
  }
  return p;
}

json RequestBody(const Options& o, const std::string& prompt, int max_tokens, bool stream) {
  json b = {{"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0}, {"ignore_eos", true},
            {"stream", stream}};
  if (stream) b["stream_options"] = {{"include_usage", true}};
  if (!o.model.empty()) b["model"] = o.model;
  return b;
}

// Returns the prompt's token count as the server counts it, or an error message.
std::variant<int, std::string> CountPromptTokens(HttpClient& client, const Options& o, int words) {
  auto r = client.Send("POST", "/v1/completions", RequestBody(o, Prompt(o.word, words), 1, false).dump());
  if (!r.ok()) return r.status().ToString();
  if (r->status != 200) return "calibration request: HTTP " + std::to_string(r->status) + ": " + r->body;
  try {
    return json::parse(r->body).at("usage").at("prompt_tokens").get<int>();
  } catch (const std::exception& e) {
    return std::string("calibration request: bad response: ") + e.what();
  }
}

void RunOne(HttpClient& client, const Options& o, const std::string& body, RequestResult& res) {
  std::string buffer;
  bool done = false;
  res.sent = Clock::now();
  auto on_body = [&](std::string_view piece) {
    const auto now = Clock::now();
    buffer.append(piece);
    for (std::string& ev : cohost::net::TakeSseEvents(buffer)) {
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

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(rank);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  auto address = Address::Parse(o.address);
  if (!address.ok()) Usage(address.status().ToString().c_str());
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s) * 1000);

  // Calibrate the prompt length (and warm the server up).
  int words = std::max(1, o.prompt_tokens - 1);  // one token per word plus BOS, as a first guess
  int prompt_tokens = -1;
  {
    HttpClient client(*address, timeout);
    auto probe = CountPromptTokens(client, o, words);
    if (auto* err = std::get_if<std::string>(&probe)) {
      std::fprintf(stderr, "stream_load: cannot reach the server: %s\n", err->c_str());
      return 1;
    }
    prompt_tokens = std::get<int>(probe);
    for (int i = 0; o.calibrate && i < 4 && prompt_tokens != o.prompt_tokens; ++i) {
      const int next = std::max(1, words + (o.prompt_tokens - prompt_tokens));
      if (next == words) break;
      words = next;
      auto again = CountPromptTokens(client, o, words);
      if (auto* err = std::get_if<std::string>(&again)) {
        std::fprintf(stderr, "stream_load: %s\n", err->c_str());
        return 1;
      }
      prompt_tokens = std::get<int>(again);
    }
  }
  const std::string body = RequestBody(o, Prompt(o.word, words), o.max_tokens, true).dump();

  // One thread per client; each connects first, then all start together.
  std::vector<std::vector<RequestResult>> results(static_cast<size_t>(o.clients));
  std::barrier start(o.clients + 1);
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      HttpClient client(*address, timeout);
      (void)client.Send("GET", "/healthz");  // opens the kept-alive connection
      start.arrive_and_wait();
      auto& mine = results[static_cast<size_t>(c)];
      mine.resize(static_cast<size_t>(o.requests_per_client));
      for (auto& r : mine) {
        r.client = c;
        RunOne(client, o, body, r);
      }
    });
  }
  start.arrive_and_wait();
  const auto run_start = Clock::now();
  for (auto& t : threads) t.join();
  const auto run_end = Clock::now();

  // Aggregate.
  std::vector<double> ttft_ms, itl_ms, per_stream_tps;
  int64_t decode_tokens = 0, completion_tokens = 0, chunks = 0, ok = 0, errors = 0;
  std::optional<Clock::time_point> first_token, last_token, first_sent, last_end;
  std::vector<std::string> error_samples;
  std::vector<int> prompt_counts;
  for (auto& per_client : results) {
    for (auto& r : per_client) {
      first_sent = first_sent ? std::min(*first_sent, r.sent) : r.sent;
      last_end = last_end ? std::max(*last_end, r.ended) : r.ended;
      if (!r.ok) {
        ++errors;
        if (error_samples.size() < 5) error_samples.push_back("client " + std::to_string(r.client) + ": " + r.error);
        continue;
      }
      ++ok;
      prompt_counts.push_back(r.prompt_tokens);
      completion_tokens += r.completion_tokens;
      decode_tokens += std::max(0, r.completion_tokens - 1);
      chunks += static_cast<int64_t>(r.chunks.size());
      ttft_ms.push_back(Ms(r.first_chunk - r.sent));
      for (size_t i = 1; i < r.chunks.size(); ++i) itl_ms.push_back(Ms(r.chunks[i] - r.chunks[i - 1]));
      first_token = first_token ? std::min(*first_token, r.first_chunk) : r.first_chunk;
      last_token = last_token ? std::max(*last_token, r.last_chunk) : r.last_chunk;
      const double span = Seconds(r.last_chunk - r.first_chunk);
      if (span > 0) per_stream_tps.push_back(static_cast<double>(r.completion_tokens - 1) / span);
    }
  }
  const double decode_window_s = first_token ? Seconds(*last_token - *first_token) : 0;
  const double e2e_window_s = first_sent ? Seconds(*last_end - *first_sent) : 0;
  const double decode_tps = decode_window_s > 0 ? static_cast<double>(decode_tokens) / decode_window_s : 0;
  const double e2e_tps = e2e_window_s > 0 ? static_cast<double>(completion_tokens) / e2e_window_s : 0;
  double mean_stream_tps = 0;
  for (double v : per_stream_tps) mean_stream_tps += v;
  if (!per_stream_tps.empty()) mean_stream_tps /= static_cast<double>(per_stream_tps.size());
  double steady_tps = 0, steady_window_s = 0;
  if (first_token && ok > 0) {
    Clock::time_point t0 = *first_token, t1 = *last_token;
    for (auto& per_client : results)
      for (auto& r : per_client)
        if (r.ok) t0 = std::max(t0, r.first_chunk), t1 = std::min(t1, r.last_chunk);
    if (t1 > t0 && chunks > 0) {
      int64_t n = 0;
      for (auto& per_client : results)
        for (auto& r : per_client)
          if (r.ok) n += std::count_if(r.chunks.begin(), r.chunks.end(), [&](auto t) { return t > t0 && t <= t1; });
      steady_window_s = Seconds(t1 - t0);
      steady_tps = static_cast<double>(n) * static_cast<double>(completion_tokens) / static_cast<double>(chunks) / steady_window_s;
    }
  }
  const double chunks_per_token = completion_tokens > 0 ? static_cast<double>(chunks) / static_cast<double>(completion_tokens) : 0;

  json out = {
      {"address", address->ToString()},
      {"clients", o.clients},
      {"requests_per_client", o.requests_per_client},
      {"requests", o.clients * o.requests_per_client},
      {"ok", ok},
      {"errors", errors},
      {"error_samples", error_samples},
      {"prompt_tokens_requested", o.prompt_tokens},
      {"prompt_tokens", prompt_tokens},
      {"prompt_words", words},
      {"max_tokens", o.max_tokens},
      {"completion_tokens", completion_tokens},
      {"decode_tokens", decode_tokens},
      {"decode_window_s", decode_window_s},
      {"decode_tokens_per_s", decode_tps},
      {"e2e_window_s", e2e_window_s},
      {"e2e_tokens_per_s", e2e_tps},
      {"per_stream_decode_tokens_per_s_mean", mean_stream_tps},
      {"steady_decode_tokens_per_s", steady_tps},
      {"steady_window_s", steady_window_s},
      {"chunks_per_token", chunks_per_token},
      {"ttft_ms", {{"p50", Percentile(ttft_ms, 50)}, {"p99", Percentile(ttft_ms, 99)},
                   {"min", ttft_ms.empty() ? 0 : *std::min_element(ttft_ms.begin(), ttft_ms.end())},
                   {"max", ttft_ms.empty() ? 0 : *std::max_element(ttft_ms.begin(), ttft_ms.end())}}},
      {"itl_ms", {{"p50", Percentile(itl_ms, 50)}, {"p99", Percentile(itl_ms, 99)}}},
      {"wall_s", Seconds(run_end - run_start)},
  };
  if (o.json) {
    std::cout << out.dump(2) << std::endl;
  } else {
    std::printf("clients %d x %d requests: %lld ok, %lld errors\n", o.clients, o.requests_per_client,
                static_cast<long long>(ok), static_cast<long long>(errors));
    for (const auto& e : error_samples) std::printf("  error: %s\n", e.c_str());
    std::printf("prompt %d tokens (%d words), max_tokens %d, %lld tokens generated\n", prompt_tokens, words,
                o.max_tokens, static_cast<long long>(completion_tokens));
    std::printf("decode      %10.1f tokens/s  (%lld tokens after the first, over %.3f s)\n", decode_tps,
                static_cast<long long>(decode_tokens), decode_window_s);
    std::printf("end-to-end  %10.1f tokens/s  (over %.3f s)\n", e2e_tps, e2e_window_s);
    std::printf("per stream  %10.1f tokens/s  (mean decode rate of one stream)\n", mean_stream_tps);
    std::printf("steady      %10.1f tokens/s  (while all streams decode, over %.3f s)\n", steady_tps, steady_window_s);
    std::printf("TTFT  p50 %8.1f ms   p99 %8.1f ms\n", Percentile(ttft_ms, 50), Percentile(ttft_ms, 99));
    std::printf("ITL   p50 %8.2f ms   p99 %8.2f ms   (%.2f chunks per token)\n", Percentile(itl_ms, 50),
                Percentile(itl_ms, 99), chunks_per_token);
  }
  return errors ? 1 : 0;
}
