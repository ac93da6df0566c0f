// Parsing and validation of OpenAI-compatible inference requests (completions and chat).
//
// Pure: JSON text in, a typed request or an error naming the field out. Unknown fields are
// ignored, as OpenAI clients send many optional ones; features cohost does not implement
// (n > 1, logprobs, tools, ...) are refused by name rather than silently ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace cohost::api {

enum class RequestKind { kCompletion, kChat };

struct Message {
  std::string role;     // system, user, assistant, tool, developer
  std::string content;  // text parts joined
};

struct InferenceRequest {
  RequestKind kind = RequestKind::kCompletion;
  std::string model;              // empty when not given
  std::string prompt;             // kCompletion
  std::vector<Message> messages;  // kChat
  std::optional<int> max_tokens;  // max_tokens, or max_completion_tokens for chat
  float temperature = 1.0f;
  float top_p = 1.0f;
  int top_k = 0;
  float min_p = 0.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  float repeat_penalty = 1.0f;
  std::optional<uint32_t> seed;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool ignore_eos = false;     // llama.cpp extension: generate past end-of-generation tokens
  // logit_bias: token id -> bias in [-100, 100], added to the token's logit (-100 bans it).
  // Ids are checked against the vocabulary by the runner, which knows it.
  std::vector<std::pair<int32_t, float>> logit_bias;
};

struct RequestLimits {
  int max_stop_strings = 16;
  size_t max_stop_length = 256;
  int max_messages = 4096;
  int max_logit_bias = 1024;  // entries of logit_bias
};

// Errors are kInvalidArgument (wrong type, out of range, missing) or kUnimplemented (a valid
// OpenAI feature cohost does not offer), always with field() set, e.g. "messages[2].content".
StatusOr<InferenceRequest> ParseInferenceRequest(std::string_view body, RequestKind kind,
                                                 const RequestLimits& limits = {});

// Reads only "model" and "stream" from a body, for a router that forwards the rest unparsed.
struct RequestRouting {
  std::string model;
  bool stream = false;
};
StatusOr<RequestRouting> ParseRouting(std::string_view body);

}  // namespace cohost::api
