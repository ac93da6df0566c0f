#include "engine/batch_planner.h"

#include <algorithm>

namespace cohost::engine {

BatchPlan PlanBatch(const std::vector<SlotView>& slots, int budget, int max_prefill_chunk) {
  BatchPlan plan;
  for (const SlotView& s : slots) {
    if (s.decoding && plan.total_tokens < budget) {
      plan.work.push_back({s.slot, 1, true});
      plan.total_tokens += 1;
    }
  }
  std::vector<const SlotView*> prefill;
  for (const SlotView& s : slots) {
    if (!s.decoding && s.prompt_remaining > 0) prefill.push_back(&s);
  }
  std::sort(prefill.begin(), prefill.end(), [](const SlotView* a, const SlotView* b) {
    return a->admitted_seq < b->admitted_seq;
  });
  for (const SlotView* s : prefill) {
    int left = budget - plan.total_tokens;
    if (left <= 0) break;
    int n = std::min(s->prompt_remaining, left);
    if (max_prefill_chunk > 0) n = std::min(n, max_prefill_chunk);
    plan.work.push_back({s->slot, n, n == s->prompt_remaining});
    plan.total_tokens += n;
  }
  return plan;
}

}  // namespace cohost::engine
