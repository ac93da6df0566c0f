// A llama.cpp sampler chain built from SamplingParams. Owned by one sequence (slot).
//
// Where the context's backend can run the whole chain (greedy, or top-k/top-p/min-p/temperature
// and a seeded draw, with no penalties), Attach() hands it to llama.cpp's backend sampling: the
// chain becomes part of the decode graph, runs on the device beside the model, and only the
// sampled token id comes back to the host instead of a row of logits over the whole vocabulary.
// Otherwise the chain samples on the host from the logits, as llama.cpp's own sampler does.
//
// Thread safety: none; used by the scheduler's inference thread only.
#pragma once

#include <memory>

#include "engine/generation.h"

struct llama_sampler;
struct llama_context;

namespace cohost::engine {

// The index of the first largest of x[0..n): what greedy decoding picks. 0 when n is 0 or
// x[0] is NaN; other NaNs are never picked.
Token FirstArgMax(const float* x, int n);

// True when every sampler these parameters need has a backend implementation in llama.cpp
// (penalties have none: they need the sequence's history on the host).
bool BackendSamplable(const SamplingParams& params);

class Sampler {
 public:
  Sampler(const Model& model, const SamplingParams& params);
  ~Sampler();  // REQUIRES: detached (Detach) if it was attached
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Offloads the chain to `ctx`'s backend for sequence `seq` when BackendSamplable(params) and
  // llama.cpp accepts it; returns whether it did. A chain can be attached once in its life.
  // llama.cpp re-plans its compute graph at the next decode after any attach or detach.
  bool Attach(llama_context* ctx, int seq);
  // Takes the chain off the backend (no-op when not attached).
  void Detach(llama_context* ctx);
  bool attached() const { return attached_seq_ >= 0; }
  // True when Sample() would be FirstArgMax over the row's logits (plain greedy, not attached):
  // the caller may compute that itself, on any thread.
  bool PlainGreedyOnHost() const { return plain_greedy_ && !attached(); }

  // True when a request with `params` may keep using this chain as it is: plain greedy chains
  // hold no state (no seed, no history), so one serves request after request.
  bool ReusableFor(const SamplingParams& params) const;
  // True for a plain greedy chain: stateless, so it may stay attached between requests.
  bool stateless() const { return plain_greedy_; }

  // Samples (and accepts) a token from output `idx` of the last decode of `ctx`.
  Token Sample(llama_context* ctx, int idx);

 private:
  llama_sampler* chain_;
  SamplingParams params_;
  // Plain greedy decoding (temperature 0, no penalties) on the host reads the logits directly:
  // building llama.cpp's candidate array over the whole vocabulary costs more than the argmax.
  bool plain_greedy_ = false;
  int n_vocab_ = 0;
  int attached_seq_ = -1;
};

}  // namespace cohost::engine
