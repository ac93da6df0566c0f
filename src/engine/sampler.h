// A llama.cpp sampler chain built from SamplingParams. Owned by one sequence (slot).
#pragma once

#include <memory>

#include "engine/generation.h"

struct llama_sampler;
struct llama_context;

namespace cohost::engine {

// The index of the first largest of x[0..n): what greedy decoding picks. 0 when n is 0 or
// x[0] is NaN; other NaNs are never picked.
Token FirstArgMax(const float* x, int n);

class Sampler {
 public:
  Sampler(const Model& model, const SamplingParams& params);
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Samples (and accepts) a token from output `idx` of the last decode of `ctx`.
  Token Sample(llama_context* ctx, int idx);

 private:
  llama_sampler* chain_;
  // Plain greedy decoding (temperature 0, no penalties) reads the logits directly: building
  // llama.cpp's candidate array over the whole vocabulary costs more than the argmax itself.
  bool plain_greedy_ = false;
  int n_vocab_ = 0;
};

}  // namespace cohost::engine
