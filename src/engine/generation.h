// The vocabulary between callers and the Scheduler: what to generate, and what happened.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/model.h"

namespace cohost::engine {

struct SamplingParams {
  float temperature = 1.0f;  // <= 0 means greedy (argmax)
  float top_p = 1.0f;        // 1 disables
  int top_k = 0;             // 0 disables
  float min_p = 0.0f;        // 0 disables
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  float repeat_penalty = 1.0f;  // 1 disables
  uint32_t seed = 0;
  bool ignore_eos = false;      // keep generating past end-of-generation tokens
  // Added to a token's logit before sampling (OpenAI logit_bias); -infinity bans the token.
  // Token ids must be below the model's vocabulary size.
  std::vector<std::pair<Token, float>> logit_bias;
};

enum class FinishReason {
  kStop,       // end-of-generation token or a stop string
  kLength,     // max_tokens reached, or the sequence filled its context
  kCancelled,  // Cancel() was called, or the scheduler stopped
  kError,      // llama.cpp failed; see GenerationEvent::error
};
const char* FinishReasonName(FinishReason reason);  // "stop", "length", "cancelled", "error"

struct GenerationEvent {
  enum class Kind { kText, kFinished };
  Kind kind = Kind::kText;
  std::string text;  // kText: new text, complete UTF-8, stop strings removed

  // kFinished only:
  FinishReason finish = FinishReason::kStop;
  Status error;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  double queue_ms = 0;       // submitted -> admitted into a slot
  double prompt_ms = 0;      // admitted -> first token sampled
  double generation_ms = 0;  // first token -> finished
};

// Called on the scheduler's output thread (one thread for all requests), in order, ending with
// exactly one kFinished event.
// It must not block and must not call back into the Scheduler synchronously.
using EventCallback = std::function<void(const GenerationEvent&)>;

struct GenerationRequest {
  std::vector<Token> prompt;  // not empty
  int max_tokens = 16;        // >= 1; prompt + max_tokens must fit the slot context
  std::vector<std::string> stop;
  SamplingParams sampling;
  EventCallback on_event;
};

}  // namespace cohost::engine
