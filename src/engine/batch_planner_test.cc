#include "engine/batch_planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace cohost::engine {
namespace {

SlotView Decoding(int slot, uint64_t admitted) { return {slot, true, 0, admitted}; }
SlotView Prefill(int slot, int remaining, uint64_t admitted) {
  return {slot, false, remaining, admitted};
}

const PlannedWork* WorkFor(const BatchPlan& plan, int slot) {
  for (const PlannedWork& w : plan.work) {
    if (w.slot == slot) return &w;
  }
  return nullptr;
}

TEST(BatchPlannerTest, EmptyWhenNothingToDo) {
  BatchPlan plan = PlanBatch({}, 64, 0);
  EXPECT_TRUE(plan.work.empty());
  EXPECT_EQ(plan.total_tokens, 0);
  // A slot neither decoding nor prefilling contributes nothing.
  plan = PlanBatch({Prefill(0, 0, 0)}, 64, 0);
  EXPECT_TRUE(plan.work.empty());
}

TEST(BatchPlannerTest, DecodeSlotsComeFirstWithOneToken) {
  // The prefill slot is listed first and is the oldest; decoding slots still go first.
  BatchPlan plan = PlanBatch({Prefill(0, 100, 0), Decoding(1, 1), Decoding(2, 2)}, 10, 0);
  ASSERT_EQ(plan.work.size(), 3u);
  EXPECT_EQ(plan.work[0].slot, 1);
  EXPECT_EQ(plan.work[1].slot, 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(plan.work[i].n_tokens, 1);
    EXPECT_TRUE(plan.work[i].wants_logits);
  }
  EXPECT_EQ(plan.work[2].slot, 0);
  EXPECT_EQ(plan.work[2].n_tokens, 8);  // the remaining budget
  EXPECT_FALSE(plan.work[2].wants_logits);
  EXPECT_EQ(plan.total_tokens, 10);
}

TEST(BatchPlannerTest, NoPrefillWhenDecodeFillsBudget) {
  BatchPlan plan = PlanBatch({Decoding(0, 0), Decoding(1, 1), Prefill(2, 5, 2)}, 2, 0);
  EXPECT_EQ(plan.total_tokens, 2);
  EXPECT_EQ(WorkFor(plan, 2), nullptr);
}

TEST(BatchPlannerTest, PrefillGetsRemainingBudgetOldestFirst) {
  BatchPlan plan = PlanBatch({Prefill(0, 10, 5), Prefill(1, 10, 2), Prefill(2, 10, 9)}, 15, 0);
  ASSERT_EQ(plan.work.size(), 2u);
  EXPECT_EQ(plan.work[0].slot, 1);  // admitted first
  EXPECT_EQ(plan.work[0].n_tokens, 10);
  EXPECT_TRUE(plan.work[0].wants_logits);  // its whole prompt
  EXPECT_EQ(plan.work[1].slot, 0);
  EXPECT_EQ(plan.work[1].n_tokens, 5);
  EXPECT_FALSE(plan.work[1].wants_logits);
  EXPECT_EQ(WorkFor(plan, 2), nullptr);  // youngest waits
  EXPECT_EQ(plan.total_tokens, 15);
}

TEST(BatchPlannerTest, MaxPrefillChunkCapsEachSequence) {
  BatchPlan plan = PlanBatch({Prefill(0, 100, 0), Prefill(1, 100, 1), Prefill(2, 20, 2)}, 512, 32);
  ASSERT_EQ(plan.work.size(), 3u);
  EXPECT_EQ(WorkFor(plan, 0)->n_tokens, 32);
  EXPECT_FALSE(WorkFor(plan, 0)->wants_logits);
  EXPECT_EQ(WorkFor(plan, 1)->n_tokens, 32);
  EXPECT_FALSE(WorkFor(plan, 1)->wants_logits);
  EXPECT_EQ(WorkFor(plan, 2)->n_tokens, 20);  // below the cap: the whole rest
  EXPECT_TRUE(WorkFor(plan, 2)->wants_logits);
  EXPECT_EQ(plan.total_tokens, 84);
}

TEST(BatchPlannerTest, WantsLogitsOnlyWhenChunkEndsPrompt) {
  EXPECT_TRUE(PlanBatch({Prefill(0, 16, 0)}, 16, 0).work[0].wants_logits);
  EXPECT_FALSE(PlanBatch({Prefill(0, 17, 0)}, 16, 0).work[0].wants_logits);
  EXPECT_TRUE(PlanBatch({Prefill(0, 16, 0)}, 64, 16).work[0].wants_logits);
  EXPECT_FALSE(PlanBatch({Prefill(0, 17, 0)}, 64, 16).work[0].wants_logits);
}

// A long prompt admitted beside three generating streams is prefilled over several steps, and
// every stream decodes one token in every one of those steps.
TEST(BatchPlannerTest, LongPromptIsSplitWhileStreamsKeepDecoding) {
  constexpr int kBudget = 64;
  constexpr int kPrompt = 1000;
  std::vector<SlotView> slots = {Decoding(0, 0), Decoding(1, 1), Decoding(2, 2),
                                 Prefill(3, kPrompt, 3)};
  int steps = 0;
  int prefilled = 0;
  while (!slots[3].decoding) {
    SCOPED_TRACE("step " + std::to_string(steps));
    ASSERT_LT(steps, 100) << "prefill never finished";
    BatchPlan plan = PlanBatch(slots, kBudget, 0);
    EXPECT_LE(plan.total_tokens, kBudget);
    for (int s = 0; s < 3; ++s) {
      const PlannedWork* w = WorkFor(plan, s);
      ASSERT_NE(w, nullptr) << "decode slot " << s << " was not served";
      EXPECT_EQ(w->n_tokens, 1);
      EXPECT_TRUE(w->wants_logits);
    }
    const PlannedWork* p = WorkFor(plan, 3);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->n_tokens, std::min(kBudget - 3, slots[3].prompt_remaining));
    slots[3].prompt_remaining -= p->n_tokens;
    prefilled += p->n_tokens;
    EXPECT_EQ(p->wants_logits, slots[3].prompt_remaining == 0);
    if (p->wants_logits) slots[3].decoding = true;
    ++steps;
  }
  EXPECT_EQ(prefilled, kPrompt);
  EXPECT_EQ(steps, (kPrompt + kBudget - 3 - 1) / (kBudget - 3));
  // Once prefilled, the sequence decodes like the others.
  BatchPlan plan = PlanBatch(slots, kBudget, 0);
  EXPECT_EQ(plan.total_tokens, 4);
}

// Invariants over random slot sets. The seed of each case is in the failure message.
TEST(BatchPlannerTest, RandomizedInvariants) {
  for (uint32_t seed = 1; seed <= 2000; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    std::mt19937 rng(seed);
    auto uniform = [&rng](int lo, int hi) {
      return std::uniform_int_distribution<int>(lo, hi)(rng);
    };
    const int n_slots = uniform(0, 12);
    std::vector<SlotView> slots;
    std::vector<uint64_t> order(static_cast<size_t>(n_slots));
    for (int i = 0; i < n_slots; ++i) order[static_cast<size_t>(i)] = static_cast<uint64_t>(i) * 3;
    std::shuffle(order.begin(), order.end(), rng);
    int n_decoding = 0;
    for (int i = 0; i < n_slots; ++i) {
      bool decoding = uniform(0, 1) == 1;
      n_decoding += decoding;
      slots.push_back({i, decoding, decoding ? 0 : uniform(0, 300), order[static_cast<size_t>(i)]});
    }
    const int budget = n_decoding + uniform(0, 200);  // REQUIRES: budget >= decoding slots
    const int chunk = uniform(0, 1) ? 0 : uniform(1, 64);
    BatchPlan plan = PlanBatch(slots, budget, chunk);

    int sum = 0;
    std::set<int> seen;
    std::map<int, int> given;
    for (const PlannedWork& w : plan.work) {
      sum += w.n_tokens;
      EXPECT_TRUE(seen.insert(w.slot).second) << "slot " << w.slot << " planned twice";
      ASSERT_GE(w.slot, 0);
      ASSERT_LT(w.slot, n_slots);
      const SlotView& s = slots[static_cast<size_t>(w.slot)];
      EXPECT_GE(w.n_tokens, 1);
      if (s.decoding) {
        EXPECT_EQ(w.n_tokens, 1);
        EXPECT_TRUE(w.wants_logits);
      } else {
        EXPECT_LE(w.n_tokens, s.prompt_remaining);
        if (chunk > 0) {
          EXPECT_LE(w.n_tokens, chunk);
        }
        EXPECT_EQ(w.wants_logits, w.n_tokens == s.prompt_remaining);
      }
      given[w.slot] = w.n_tokens;
    }
    EXPECT_EQ(sum, plan.total_tokens);
    EXPECT_LE(plan.total_tokens, budget);

    // Every decoding slot is served; prefill is oldest-first and work-conserving: a slot gets
    // less than it could take only when the budget ran out, and then no younger slot gets any.
    bool budget_ran_out = false;
    std::vector<const SlotView*> prefill;
    for (const SlotView& s : slots) {
      if (s.decoding) {
        EXPECT_EQ(given.count(s.slot), 1u) << "decode slot " << s.slot;
      }
      if (!s.decoding && s.prompt_remaining > 0) prefill.push_back(&s);
    }
    std::sort(prefill.begin(), prefill.end(), [](const SlotView* a, const SlotView* b) {
      return a->admitted_seq < b->admitted_seq;
    });
    for (const SlotView* s : prefill) {
      const int could = chunk > 0 ? std::min(chunk, s->prompt_remaining) : s->prompt_remaining;
      const int got = given.count(s->slot) ? given[s->slot] : 0;
      if (budget_ran_out) {
        EXPECT_EQ(got, 0) << "younger slot " << s->slot << " served before an older one";
      } else if (got < could) {
        EXPECT_EQ(plan.total_tokens, budget) << "slot " << s->slot << " starved with budget left";
        budget_ran_out = true;
      }
    }
  }
}

}  // namespace
}  // namespace cohost::engine
