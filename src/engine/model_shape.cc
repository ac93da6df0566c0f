#include "engine/model_shape.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace cohost::engine {
namespace {

int64_t PerLayerParams(const ModelShape& s) {
  int64_t e = s.n_embd;
  int64_t kv = static_cast<int64_t>(s.head_dim()) * s.n_head_kv;
  return 2 * e * e + 2 * e * kv + 3 * e * s.n_ff + 2 * e;  // q,o + k,v + gate,up,down + norms
}

int RoundUp(int v, int multiple) { return (v + multiple - 1) / multiple * multiple; }

}  // namespace

int64_t ModelShape::ParamCount() const {
  int64_t e = n_embd;
  return 2 * e * n_vocab + e + n_layer * PerLayerParams(*this);  // embeddings, output, norm
}

Status ModelShape::Validate() const {
  if (n_vocab <= 0) return InvalidArgument("n_vocab", "must be positive");
  if (n_embd <= 0 || n_embd % 32 != 0)
    return InvalidArgument("n_embd", "must be a positive multiple of 32, got " + std::to_string(n_embd));
  if (n_layer <= 0) return InvalidArgument("n_layer", "must be positive");
  if (n_head <= 0 || n_embd % n_head != 0)
    return InvalidArgument("n_head", "must divide n_embd (" + std::to_string(n_embd) + ")");
  if (head_dim() % 2 != 0) return InvalidArgument("n_head", "n_embd / n_head must be even (RoPE)");
  if (n_head_kv <= 0 || n_head % n_head_kv != 0)
    return InvalidArgument("n_head_kv", "must divide n_head (" + std::to_string(n_head) + ")");
  if (n_ff <= 0 || n_ff % 32 != 0)
    return InvalidArgument("n_ff", "must be a positive multiple of 32, got " + std::to_string(n_ff));
  if (n_ctx_train <= 0) return InvalidArgument("n_ctx_train", "must be positive");
  return Status::Ok();
}

StatusOr<int64_t> ParseParamCount(std::string_view text) {
  if (text.empty()) return InvalidArgument("params", "is empty; use e.g. 20M, 100M, 1B");
  double mult = 1;
  char last = static_cast<char>(std::toupper(static_cast<unsigned char>(text.back())));
  if (last == 'K') mult = 1e3;
  if (last == 'M') mult = 1e6;
  if (last == 'B' || last == 'G') mult = 1e9;
  std::string_view num = mult == 1 ? text : text.substr(0, text.size() - 1);
  std::string s(num);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(v > 0) || !std::isfinite(v))
    return InvalidArgument("params", "'" + std::string(text) + "' is not a size like 20M or 1B");
  double total = v * mult;
  if (total < 1e6 || total > 1e11)
    return InvalidArgument("params", "must be between 1M and 100B, got " + std::string(text));
  return static_cast<int64_t>(total);
}

ModelShape ShapeForParams(int64_t params, int n_vocab) {
  ModelShape s;
  s.n_vocab = n_vocab;
  struct Band { int64_t below; int width; };
  static constexpr Band kBands[] = {
      {12'000'000, 128},     {40'000'000, 256},       {80'000'000, 512},
      {200'000'000, 768},    {500'000'000, 1024},     {1'500'000'000, 2048},
      {4'000'000'000, 3072}, {INT64_MAX, 4096},
  };
  for (const Band& b : kBands) {
    if (params < b.below) {
      s.n_embd = b.width;
      break;
    }
  }
  s.n_head = std::max(1, s.n_embd / 64);
  s.n_head_kv = s.n_embd >= 2048 ? std::max(1, s.n_head / 4) : s.n_head;
  s.n_ff = RoundUp(s.n_embd * 8 / 3, 32);
  s.n_layer = 1;
  int64_t fixed = ModelShape{s}.ParamCount() - PerLayerParams(s);
  int64_t per = PerLayerParams(s);
  int64_t layers = std::llround(static_cast<double>(params - fixed) / static_cast<double>(per));
  s.n_layer = static_cast<int>(std::clamp<int64_t>(layers, 1, 128));
  return s;
}

}  // namespace cohost::engine
