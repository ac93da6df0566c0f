// CopyState: the lifecycle of one copy (one runner process) as the node agent sees it.
//
//                 Start / backoff over
//   ┌─────────┐  ─────────────────────▶  ┌─────────┐   /healthz ok   ┌───────┐
//   │ pending │                          │ loading │ ──────────────▶ │ ready │
//   └─────────┘  ◀─────────────────────  └─────────┘                 └───────┘
//     │   ▲       crash, restart later     │     │                     │   │
//     │   │                                │     │ crash, gave up      │   │ Drain
//     │   └────────────────────────────────┼─────┼─────────────────────┘   ▼
//     │          crash, restart later      │     ▼                    ┌──────────┐
//     │                                    │  ┌────────┐ ◀── crash,   │ draining │
//     │  spawn failed and gave up ───────────▶│ failed │    gave up   └──────────┘
//     │                                    │  └────────┘    (ready)        │ idle, or deadline
//     │ Stop / Drain          Stop / Drain ▼                               ▼
//     └─────────────────────────────▶ ┌─────────┐ ◀────────────────────────┘
//                                     │ stopped │ ◀── Stop (any state but failed)
//                                     └─────────┘
//
// stopped and failed are final: a copy that ends is replaced by a new copy, never revived.
// Thread safety: values and pure functions; call from any thread.
#pragma once

namespace cohost::agent {

enum class CopyState {
  kPending,   // no runner process: not started yet, or waiting out a restart backoff
  kLoading,   // the runner is running and loading its model; /healthz not answered yet
  kReady,     // /healthz answered: the router may send it requests
  kDraining,  // no new requests; in-flight ones finish, then the runner is stopped
  kStopped,   // the runner ended on purpose (Stop, or a finished drain); final
  kFailed,    // crashed too often (or cannot be started); the reason is in events; final
};

// "pending", "loading", "ready", "draining", "stopped", "failed" (the API's names).
const char* CopyStateName(CopyState state);

// Whether the diagram above has an edge from `from` to `to` (a state to itself: false).
bool IsAllowedTransition(CopyState from, CopyState to);

// stopped or failed.
inline bool IsFinal(CopyState state) {
  return state == CopyState::kStopped || state == CopyState::kFailed;
}

}  // namespace cohost::agent
