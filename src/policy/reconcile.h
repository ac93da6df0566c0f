// Reconcile: the pure decision of which copies to start and which to drain so that every
// inference component converges to its desired copy count on its current spec.
//
// Rules (DESIGN.md decision 4, "drops no request it accepted"):
//   * Copies of deleted components drain.
//   * A component below its desired count gets new copies, placed with its strategy, higher
//     priority components first, each placement applied to the snapshot before the next. Among
//     equal priorities, a component that copies were evicted for (ComponentView::evicted_for)
//     goes first, so the room freed for it is not taken by another component's scale-out.
//   * A changed spec (model or requirements: a new spec revision) replaces copies one by one:
//     one new copy at a time is started beside the old ones, and an old copy drains only once
//     a new one is ready, so serving capacity never drops.
//   * Extra copies drain: outdated first, then starting ones, then the least loaded.
//   * Failed copies count as neither live nor wanted; when as many copies of the current spec
//     have failed as are desired, no more are started (the failure is reported instead).
// Pure: no I/O, no clock (nothing here depends on time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/component.h"
#include "policy/placement.h"

namespace cohost::policy {

enum class CopyPhase {
  kStarting,  // pending or loading: will serve soon
  kReady,     // serving
  kDraining,  // finishing its requests; already released from the desired count
  kFailed,    // gave up after repeated crashes
};

struct CopyView {
  std::string id;
  std::string component;
  int64_t spec_revision = 0;  // the component revision it was started with
  CopyPhase phase = CopyPhase::kStarting;
  int in_flight = 0;          // requests being served
};

struct ComponentView {
  InferenceComponent spec;
  int64_t revision = 0;     // the spec's store revision
  int desired_copies = 0;   // from the autoscaler or the spec's copies.initial
  // The spec fields whose change needs new copies are those in `ReplacementKey`; a revision
  // that only changes e.g. priority or copy bounds keeps existing copies.
  int64_t replacement_revision = 0;
  // Copies of other components were evicted to make room for this one (policy/eviction.h) and
  // it has not been placed since: it is placed before other components of its priority.
  bool evicted_for = false;
  // Its endpoint (spec.endpoint) is dedicated: its copies go only on devices of their own
  // (policy/tenancy.h).
  bool dedicated = false;
};

struct StartCopy {
  std::string component;
  int64_t spec_revision = 0;
  Assignment assignment;
};

struct DrainCopy {
  std::string copy_id;
  std::string reason;  // "scale-in", "replaced", "component deleted"
};

struct Unplaced {
  std::string component;
  Status reason;  // kResourceExhausted with the placement refusal, or kFailedPrecondition
  // True when no copy is started because the current spec's copies failed (not for lack of room).
  bool copies_failed = false;
};

struct ReconcilePlan {
  std::vector<StartCopy> start;
  std::vector<DrainCopy> drain;
  std::vector<Unplaced> unplaced;
};

// `node` holds the reservations of every copy that is not stopped (draining ones included).
ReconcilePlan Reconcile(const std::vector<ComponentView>& components,
                        const std::vector<CopyView>& copies, NodeSnapshot node);

// A string that changes exactly when a spec change needs new copies (model, compute, startup).
std::string ReplacementKey(const InferenceComponent& spec);

}  // namespace cohost::policy
