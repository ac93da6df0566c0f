// ModelShape: the hyperparameters of a llama-architecture model, and a chooser that picks a
// sensible shape for a target parameter count. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cohost::engine {

struct ModelShape {
  int n_vocab = 32000;
  int n_embd = 512;
  int n_layer = 8;
  int n_head = 8;
  int n_head_kv = 8;   // < n_head means grouped-query attention
  int n_ff = 1376;
  int n_ctx_train = 4096;

  int head_dim() const { return n_embd / n_head; }
  int64_t ParamCount() const;
  // Empty when valid, else names the field that is wrong and why.
  Status Validate() const;
};

// Parses "20M", "1B", "1500k", "60000000" into a parameter count (1M to 100B).
StatusOr<int64_t> ParseParamCount(std::string_view text);

// A shape of about `params` parameters for a vocabulary of `n_vocab` tokens: width from a size
// band, 64-wide heads, GQA (4 query heads per KV head) from 2048 wide, feed-forward ≈ 8/3 × width,
// and as many layers as the budget allows (at least 1).
ModelShape ShapeForParams(int64_t params, int n_vocab);

}  // namespace cohost::engine
