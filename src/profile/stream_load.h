// Streaming load client: N concurrent clients send streaming completions to an OpenAI-compatible
// server (cohost runner, cohost serve, llama-server) and time every SSE chunk. Used by the
// right-sizer's sweep and by bench/stream_load.
//
// Each client opens one kept-alive connection (a GET /healthz before the start, so connection
// set-up is not part of any timing), waits at a start barrier, then sends requests_per_client
// streaming POST /v1/completions one after another, with
//   {"prompt": P words, "max_tokens": T, "temperature": 0, "ignore_eos": true, "stream": true,
//    "stream_options": {"include_usage": true}}
// so every request generates exactly T tokens. CalibratePrompt finds the number of words that
// makes usage.prompt_tokens equal the wanted prompt length (when the tokenizer allows).
//
// Definitions (all times from std::chrono::steady_clock, on the client):
//   TTFT            send time -> arrival of the first chunk with non-empty text.
//   ITL             gap between consecutive text chunks of one stream (inter-chunk latency; the
//                   server may coalesce tokens; chunks_per_token shows how close it is).
//   decode tokens/s = sum over streams of (completion_tokens - 1)
//                     / (latest last-text-chunk time - earliest first-text-chunk time)
//                   (comparable to llama-batched-bench's S_TG: the first token is prefill's).
//   end-to-end tokens/s = sum of completion_tokens / (latest response end - earliest send).
//   requests/s      = successful requests / (latest response end - earliest send).
//   per-stream decode tokens/s = mean over streams of (completion_tokens - 1) / (last - first chunk).
//   steady decode tokens/s = chunks arriving while every stream decodes × tokens per chunk / window.
// Percentiles interpolate linearly between closest ranks (p50 of {1,2,3,4} is 2.5).
//
// A request is an error when it fails to connect, gets a non-200 status, carries an "error"
// object in the stream, ends without "data: [DONE]", or reports no usage.
// Thread safety: RunStreamLoad starts its own threads and joins them before returning.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "net/http_client.h"

namespace cohost::profile {

struct LoadOptions {
  net::Address address;
  int clients = 1;
  int requests_per_client = 1;
  int prompt_words = 127;  // words of the prompt (see CalibratePrompt)
  int max_tokens = 128;
  std::string model;       // empty: the server's default
  std::string word = "hello";
  std::chrono::milliseconds timeout{600000};
};

struct Calibration {
  int words = 0;          // prompt words to send
  int prompt_tokens = 0;  // the server's count for that prompt
};

// Adjusts the number of words (up to 4 tries) until the server counts `prompt_tokens` tokens;
// also warms the server up. Errors: kUnavailable when the server cannot be reached or answers
// with an error (its status and body in the message).
StatusOr<Calibration> CalibratePrompt(const LoadOptions& options, int prompt_tokens, bool adjust = true);

struct Quantiles {
  double p50 = 0, p99 = 0, min = 0, max = 0;
};

struct LoadResult {
  int clients = 0;
  int requests = 0;
  int64_t ok = 0, errors = 0;
  std::vector<std::string> error_samples;  // the first few
  int64_t completion_tokens = 0, decode_tokens = 0;
  // decode_tokens_per_s: tokens after each stream's first over the window from the first token
  // to the last; when that window is empty (all arrived at once), the end-to-end rate.
  double decode_window_s = 0, decode_tokens_per_s = 0;
  double e2e_window_s = 0, e2e_tokens_per_s = 0;
  double requests_per_s = 0;
  double per_stream_tokens_per_s = 0, steady_tokens_per_s = 0, steady_window_s = 0;
  double chunks_per_token = 0;
  Quantiles ttft_ms, itl_ms;
  double wall_s = 0;

  nlohmann::json ToJson() const;
};

// Runs the load. Never fails as a whole: failed requests are counted in `errors`.
LoadResult RunStreamLoad(const LoadOptions& options);

// Linear interpolation between closest ranks; 0 for an empty list. REQUIRES: 0 <= p <= 100.
double Percentile(std::vector<double> values, double p);

}  // namespace cohost::profile
