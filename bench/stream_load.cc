// stream_load: a load generator for OpenAI-compatible streaming completions (cohost runner,
// llama-server, ...).
//
//   stream_load --address 127.0.0.1:8080 --clients 16 --prompt-tokens 128 --max-tokens 128 [--json]
//
// The client itself lives in src/profile/stream_load.h (the right-sizer's sweep uses it too); its
// header defines every figure (TTFT, ITL, decode tokens/s, ...). This program calibrates the
// prompt (one non-streaming request with max_tokens 1, adjusted until the server's
// usage.prompt_tokens equals --prompt-tokens; it also warms the server up), runs the load, and
// prints a summary, or with --json one JSON object. The exit status is 1 when any request failed.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "profile/stream_load.h"

namespace {

using cohost::profile::LoadOptions;

struct Options {
  std::string address = "127.0.0.1:8080";
  LoadOptions load;
  int prompt_tokens = 128;
  int timeout_s = 600;
  bool calibrate = true;
  bool json = false;
};

[[noreturn]] void Usage(const char* why) {
  if (why) std::fprintf(stderr, "stream_load: %s\n\n", why);
  std::fprintf(stderr,
               "usage: stream_load [--address HOST:PORT|unix:PATH] [--clients N]\n"
               "                   [--requests-per-client R] [--prompt-tokens P] [--max-tokens T]\n"
               "                   [--model NAME] [--word WORD] [--timeout-s S] [--no-calibrate] [--json]\n"
               "Streams completions from N concurrent clients and reports decode tokens/s,\n"
               "TTFT and inter-chunk latency. See src/profile/stream_load.h for the definitions.\n");
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
    else if (a == "--clients") o.load.clients = ParseInt(a, value(), 1);
    else if (a == "--requests-per-client") o.load.requests_per_client = ParseInt(a, value(), 1);
    else if (a == "--prompt-tokens") o.prompt_tokens = ParseInt(a, value(), 1);
    else if (a == "--max-tokens") o.load.max_tokens = ParseInt(a, value(), 1);
    else if (a == "--model") o.load.model = value();
    else if (a == "--word") o.load.word = value();
    else if (a == "--timeout-s") o.timeout_s = ParseInt(a, value(), 1);
    else if (a == "--no-calibrate") o.calibrate = false;
    else if (a == "--json") o.json = true;
    else Usage(("unknown argument " + a).c_str());
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  auto address = cohost::net::Address::Parse(o.address);
  if (!address.ok()) Usage(address.status().ToString().c_str());
  o.load.address = *address;
  o.load.timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s) * 1000);

  auto cal = cohost::profile::CalibratePrompt(o.load, o.prompt_tokens, o.calibrate);
  if (!cal.ok()) {
    std::fprintf(stderr, "stream_load: %s\n", cal.status().message().c_str());
    return 1;
  }
  o.load.prompt_words = cal->words;
  const cohost::profile::LoadResult r = cohost::profile::RunStreamLoad(o.load);

  if (o.json) {
    nlohmann::json out = r.ToJson();
    out["address"] = address->ToString();
    out["requests_per_client"] = o.load.requests_per_client;
    out["prompt_tokens_requested"] = o.prompt_tokens;
    out["prompt_tokens"] = cal->prompt_tokens;
    out["prompt_words"] = cal->words;
    out["max_tokens"] = o.load.max_tokens;
    std::cout << out.dump(2) << std::endl;
  } else {
    std::printf("clients %d x %d requests: %lld ok, %lld errors\n", o.load.clients, o.load.requests_per_client,
                static_cast<long long>(r.ok), static_cast<long long>(r.errors));
    for (const auto& e : r.error_samples) std::printf("  error: %s\n", e.c_str());
    std::printf("prompt %d tokens (%d words), max_tokens %d, %lld tokens generated\n", cal->prompt_tokens,
                cal->words, o.load.max_tokens, static_cast<long long>(r.completion_tokens));
    std::printf("decode      %10.1f tokens/s  (%lld tokens after the first, over %.3f s)\n", r.decode_tokens_per_s,
                static_cast<long long>(r.decode_tokens), r.decode_window_s);
    std::printf("end-to-end  %10.1f tokens/s  (over %.3f s)\n", r.e2e_tokens_per_s, r.e2e_window_s);
    std::printf("per stream  %10.1f tokens/s  (mean decode rate of one stream)\n", r.per_stream_tokens_per_s);
    std::printf("steady      %10.1f tokens/s  (while all streams decode, over %.3f s)\n", r.steady_tokens_per_s,
                r.steady_window_s);
    std::printf("TTFT  p50 %8.1f ms   p99 %8.1f ms\n", r.ttft_ms.p50, r.ttft_ms.p99);
    std::printf("ITL   p50 %8.2f ms   p99 %8.2f ms   (%.2f chunks per token)\n", r.itl_ms.p50, r.itl_ms.p99,
                r.chunks_per_token);
  }
  return r.errors ? 1 : 0;
}
