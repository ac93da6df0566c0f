// BatchPlanner: decides which tokens of which sequences go into the next llama_decode call.
//
// Continuous batching policy: every sequence that is generating contributes its one pending token
// (decode first, so running streams never wait behind a long prompt); the rest of the token budget
// goes to sequences still reading their prompt, oldest admission first, in chunks. A long prompt
// is therefore prefilled over several steps while the streams around it keep decoding.
// Pure: no I/O, no llama.cpp, no clock.
#pragma once

#include <cstdint>
#include <vector>

namespace cohost::engine {

struct SlotView {
  int slot = 0;
  bool decoding = false;      // has a sampled token waiting to be decoded
  int prompt_remaining = 0;   // prompt tokens not yet decoded (prefill); 0 when decoding
  uint64_t admitted_seq = 0;  // admission order; lower is older
};

struct PlannedWork {
  int slot = 0;
  int n_tokens = 0;          // 1 for decode; a chunk of the prompt for prefill
  bool wants_logits = false; // true when this chunk ends the prompt, or for decode
};

struct BatchPlan {
  std::vector<PlannedWork> work;
  int total_tokens = 0;
};

// REQUIRES: budget >= number of decoding slots (the scheduler sizes n_batch >= parallel).
// `max_prefill_chunk` caps the prompt tokens one sequence may add per step (0 = no cap).
BatchPlan PlanBatch(const std::vector<SlotView>& slots, int budget, int max_prefill_chunk);

}  // namespace cohost::engine
