#include "engine/sampler.h"

#include <llama.h>

namespace cohost::engine {

Sampler::Sampler(const Model& model, const SamplingParams& p)
    : chain_(llama_sampler_chain_init(llama_sampler_chain_default_params())), n_vocab_(model.n_vocab()) {
  const bool penalties = p.frequency_penalty != 0 || p.presence_penalty != 0 || p.repeat_penalty != 1;
  plain_greedy_ = p.temperature <= 0 && !penalties;
  if (penalties) {
    llama_sampler_chain_add(chain_, llama_sampler_init_penalties(model.n_vocab(), 64, p.repeat_penalty,
                                                                 p.frequency_penalty,
                                                                 p.presence_penalty));
  }
  if (p.temperature <= 0) {
    llama_sampler_chain_add(chain_, llama_sampler_init_greedy());
    return;
  }
  if (p.top_k > 0) llama_sampler_chain_add(chain_, llama_sampler_init_top_k(p.top_k));
  if (p.top_p < 1) llama_sampler_chain_add(chain_, llama_sampler_init_top_p(p.top_p, 1));
  if (p.min_p > 0) llama_sampler_chain_add(chain_, llama_sampler_init_min_p(p.min_p, 1));
  llama_sampler_chain_add(chain_, llama_sampler_init_temp(p.temperature));
  llama_sampler_chain_add(chain_, llama_sampler_init_dist(p.seed));
}

Sampler::~Sampler() { llama_sampler_free(chain_); }

Token Sampler::Sample(llama_context* ctx, int idx) {
  if (plain_greedy_) {
    const float* logits = llama_get_logits_ith(ctx, idx);
    if (logits) {
      Token best = 0;
      for (Token t = 1; t < n_vocab_; ++t) {
        if (logits[t] > logits[best]) best = t;
      }
      return best;
    }
  }
  return llama_sampler_sample(chain_, ctx, idx);
}

}  // namespace cohost::engine
