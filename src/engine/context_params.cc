#include "engine/context_params.h"

namespace cohost::engine {

llama_context_params MakeContextParams(const SchedulerOptions& options) {
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = static_cast<uint32_t>(options.context * options.parallel);
  cp.n_seq_max = static_cast<uint32_t>(options.parallel);
  cp.kv_unified = false;  // each slot owns `context` cells; no slot can starve another
  cp.n_batch = static_cast<uint32_t>(options.batch);
  cp.n_ubatch = static_cast<uint32_t>(options.ubatch);
  // The scheduler asks for at most one output (logits or a sampled token) per slot per step, so
  // the output buffers are sized for `parallel` rows, not for a whole batch of them (n_batch rows
  // of the vocabulary each: 64 MiB for a 32k vocabulary and a batch of 512, and with backend
  // sampling three times that).
  cp.n_outputs_max = static_cast<uint32_t>(options.parallel);
  cp.n_outputs_max_per_seq = 1;
  cp.n_threads = options.threads;
  cp.n_threads_batch = options.threads;
  cp.no_perf = true;
  switch (options.flash_attention) {
    case FlashAttention::kAuto: cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_AUTO; break;
    case FlashAttention::kOn: cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED; break;
    case FlashAttention::kOff: cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED; break;
  }
  return cp;
}

}  // namespace cohost::engine
