#include "agent/copy_state.h"

namespace cohost::agent {

const char* CopyStateName(CopyState state) {
  switch (state) {
    case CopyState::kPending: return "pending";
    case CopyState::kLoading: return "loading";
    case CopyState::kReady: return "ready";
    case CopyState::kDraining: return "draining";
    case CopyState::kStopped: return "stopped";
    case CopyState::kFailed: return "failed";
  }
  return "unknown";
}

bool IsAllowedTransition(CopyState from, CopyState to) {
  using S = CopyState;
  if (from == to || IsFinal(from)) return false;
  switch (to) {
    case S::kPending: return from == S::kLoading || from == S::kReady;
    case S::kLoading: return from == S::kPending;
    case S::kReady: return from == S::kLoading;
    case S::kDraining: return from == S::kReady;
    case S::kStopped: return true;
    case S::kFailed: return from != S::kDraining;
  }
  return false;
}

}  // namespace cohost::agent
