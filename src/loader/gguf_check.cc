#include "loader/gguf_check.h"

#include <gguf.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <vector>

namespace cohost::loader {
namespace {

bool IsIntegerType(gguf_type t) {
  switch (t) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16:
    case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64:
      return true;
    default:
      return false;
  }
}

// Element i of an integer array (or the scalar when i is -1) as int64; UINT64 beyond INT64_MAX
// saturates, which every range check below refuses.
int64_t ReadInteger(gguf_type t, const void* p, size_t i) {
  switch (t) {
    case GGUF_TYPE_UINT8: return static_cast<const uint8_t*>(p)[i];
    case GGUF_TYPE_INT8: return static_cast<const int8_t*>(p)[i];
    case GGUF_TYPE_UINT16: return static_cast<const uint16_t*>(p)[i];
    case GGUF_TYPE_INT16: return static_cast<const int16_t*>(p)[i];
    case GGUF_TYPE_UINT32: return static_cast<const uint32_t*>(p)[i];
    case GGUF_TYPE_INT32: return static_cast<const int32_t*>(p)[i];
    case GGUF_TYPE_UINT64: {
      uint64_t v = static_cast<const uint64_t*>(p)[i];
      return v > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v);
    }
    case GGUF_TYPE_INT64: return static_cast<const int64_t*>(p)[i];
    default: return 0;
  }
}

// The integer values of `key`: one for a scalar, one per element for an integer array, none when
// the key is absent or holds something else (llama.cpp refuses a wrong type itself, cleanly).
std::vector<int64_t> Integers(const gguf_context* g, const std::string& key) {
  const int64_t id = gguf_find_key(g, key.c_str());
  if (id < 0) return {};
  const gguf_type t = gguf_get_kv_type(g, id);
  if (IsIntegerType(t)) return {ReadInteger(t, gguf_get_val_data(g, id), 0)};
  if (t != GGUF_TYPE_ARRAY || !IsIntegerType(gguf_get_arr_type(g, id))) return {};
  std::vector<int64_t> out(gguf_get_arr_n(g, id));
  const void* data = gguf_get_arr_data(g, id);
  for (size_t i = 0; i < out.size(); ++i) out[i] = ReadInteger(gguf_get_arr_type(g, id), data, i);
  return out;
}

std::optional<int64_t> Scalar(const gguf_context* g, const std::string& key) {
  const int64_t id = gguf_find_key(g, key.c_str());
  if (id < 0 || !IsIntegerType(gguf_get_kv_type(g, id))) return std::nullopt;
  return ReadInteger(gguf_get_kv_type(g, id), gguf_get_val_data(g, id), 0);
}

Status OutOfRange(const std::string& key, int64_t value, int64_t lo, int64_t hi) {
  return InvalidArgument("model", "the model's " + key + " is " + std::to_string(value) +
                                      "; allowed: " + std::to_string(lo) + " to " + std::to_string(hi));
}

// Every value of `key` (scalar or per layer) within [lo, hi]; `required`: the key must exist.
Status CheckRange(const gguf_context* g, const std::string& key, int64_t lo, int64_t hi, bool required) {
  std::vector<int64_t> values = Integers(g, key);
  if (values.empty()) {
    if (required && gguf_find_key(g, key.c_str()) < 0)
      return InvalidArgument("model", "the model has no " + key + " (an integer is required)");
    return Status::Ok();
  }
  for (int64_t v : values) {
    if (v < lo || v > hi) return OutOfRange(key, v, lo, hi);
  }
  return Status::Ok();
}

Status CheckTensorsFit(const gguf_context* g, uint64_t file_size, const std::string& uri) {
  const uint64_t base = gguf_get_data_offset(g);
  uint64_t need = base;
  for (int64_t i = 0; i < gguf_get_n_tensors(g); ++i) {
    const uint64_t off = gguf_get_tensor_offset(g, i), size = gguf_get_tensor_size(g, i);
    if (off > UINT64_MAX - base || size > UINT64_MAX - base - off) {
      return DataLoss(std::string("tensor ") + gguf_get_tensor_name(g, i) + " of " + uri +
                      " lies beyond any file size");
    }
    need = std::max<uint64_t>(need, base + off + size);
  }
  if (file_size < need) {
    return DataLoss("model file is truncated: " + uri + " has " + std::to_string(file_size) +
                    " bytes, its tensors need " + std::to_string(need));
  }
  return Status::Ok();
}

Status CheckHeads(const gguf_context* g, const std::string& arch) {
  const std::string heads = arch + ".attention.head_count";
  const std::string kv_heads = arch + ".attention.head_count_kv";
  RETURN_IF_ERROR(CheckRange(g, heads, 0, kMaxHeadCount, false));
  RETURN_IF_ERROR(CheckRange(g, kv_heads, 0, kMaxHeadCount, false));
  std::optional<int64_t> n_head = Scalar(g, heads), n_head_kv = Scalar(g, kv_heads);
  std::optional<int64_t> n_embd = Scalar(g, arch + ".embedding_length");
  if (n_head && n_head_kv && *n_head > 0 && *n_head_kv > 0 && *n_head % *n_head_kv != 0) {
    return InvalidArgument("model", "the model's " + heads + " (" + std::to_string(*n_head) +
                                        ") is not a multiple of " + kv_heads + " (" +
                                        std::to_string(*n_head_kv) + ")");
  }
  if (n_head && n_head_kv && *n_head_kv > *n_head) return OutOfRange(kv_heads, *n_head_kv, 0, *n_head);
  const bool has_key_length = gguf_find_key(g, (arch + ".attention.key_length").c_str()) >= 0;
  if (n_head && n_embd && *n_head > 0 && !has_key_length && *n_embd % *n_head != 0) {
    return InvalidArgument("model", "the model's " + arch + ".embedding_length (" + std::to_string(*n_embd) +
                                        ") is not a multiple of " + heads + " (" + std::to_string(*n_head) +
                                        ") and it gives no " + arch + ".attention.key_length");
  }
  RETURN_IF_ERROR(CheckRange(g, arch + ".attention.key_length", 1, kMaxEmbeddingLength, false));
  return CheckRange(g, arch + ".attention.value_length", 1, kMaxEmbeddingLength, false);
}

Status CheckExperts(const gguf_context* g, const std::string& arch) {
  const std::string count = arch + ".expert_count", used = arch + ".expert_used_count";
  RETURN_IF_ERROR(CheckRange(g, count, 0, kMaxExpertCount, false));
  const int64_t n_expert = Scalar(g, count).value_or(0);
  for (int64_t v : Integers(g, used)) {
    if (v < (n_expert > 0 ? 1 : 0) || v > n_expert) return OutOfRange(used, v, n_expert > 0 ? 1 : 0, n_expert);
  }
  return Status::Ok();
}

Status CheckVocab(const gguf_context* g, const std::string& arch) {
  RETURN_IF_ERROR(CheckRange(g, arch + ".vocab_size", 1, kMaxVocabSize, false));
  const int64_t id = gguf_find_key(g, "tokenizer.ggml.tokens");
  if (id >= 0 && gguf_get_kv_type(g, id) == GGUF_TYPE_ARRAY) {
    const int64_t n = static_cast<int64_t>(gguf_get_arr_n(g, id));
    if (n < 1 || n > kMaxVocabSize) return OutOfRange("tokenizer.ggml.tokens count", n, 1, kMaxVocabSize);
  }
  return Status::Ok();
}

}  // namespace

int64_t GgufShape::KvBytesPerToken() const {
  if (n_layer <= 0 || n_head_kv <= 0) return 0;
  const int64_t k = key_length > 0 ? key_length : (n_head > 0 ? n_embd / n_head : 0);
  const int64_t v = value_length > 0 ? value_length : k;
  return 2 /* F16 */ * n_layer * n_head_kv * (k + v);
}

Status CheckGgufHeader(const gguf_context* g, uint64_t file_size, const std::string& uri) {
  const int64_t arch_id = gguf_find_key(g, "general.architecture");
  if (arch_id < 0 || gguf_get_kv_type(g, arch_id) != GGUF_TYPE_STRING)
    return InvalidArgument("model", "the model has no general.architecture (a string is required)");
  const std::string arch = gguf_get_val_str(g, arch_id);
  RETURN_IF_ERROR(CheckTensorsFit(g, file_size, uri));
  // A vocabulary-only file (no block_count, no tensors) is not a model llama.cpp aborts on.
  const bool vocab_only = gguf_get_n_tensors(g) == 0;
  RETURN_IF_ERROR(CheckRange(g, arch + ".block_count", 1, kMaxBlockCount, !vocab_only));
  RETURN_IF_ERROR(CheckRange(g, arch + ".embedding_length", 1, kMaxEmbeddingLength, !vocab_only));
  RETURN_IF_ERROR(CheckRange(g, arch + ".context_length", 1, kMaxContextLength, !vocab_only));
  RETURN_IF_ERROR(CheckRange(g, arch + ".feed_forward_length", 0, kMaxEmbeddingLength * 64, false));
  const std::optional<int64_t> nextn = Scalar(g, arch + ".nextn_predict_layers");
  const int64_t n_layer = Scalar(g, arch + ".block_count").value_or(0);
  if (nextn && (*nextn < 0 || *nextn > n_layer)) return OutOfRange(arch + ".nextn_predict_layers", *nextn, 0, n_layer);
  RETURN_IF_ERROR(CheckHeads(g, arch));
  RETURN_IF_ERROR(CheckExperts(g, arch));
  return CheckVocab(g, arch);
}

GgufShape ReadGgufShape(const gguf_context* g) {
  GgufShape s;
  const int64_t arch_id = gguf_find_key(g, "general.architecture");
  if (arch_id < 0 || gguf_get_kv_type(g, arch_id) != GGUF_TYPE_STRING) return s;
  s.arch = gguf_get_val_str(g, arch_id);
  s.n_layer = Scalar(g, s.arch + ".block_count").value_or(0);
  s.n_embd = Scalar(g, s.arch + ".embedding_length").value_or(0);
  s.n_ctx_train = Scalar(g, s.arch + ".context_length").value_or(0);
  // Per-layer head counts: the largest bounds the KV cache from above.
  std::vector<int64_t> heads = Integers(g, s.arch + ".attention.head_count");
  std::vector<int64_t> kv = Integers(g, s.arch + ".attention.head_count_kv");
  if (!heads.empty()) s.n_head = *std::max_element(heads.begin(), heads.end());
  s.n_head_kv = kv.empty() ? s.n_head : *std::max_element(kv.begin(), kv.end());
  s.key_length = Scalar(g, s.arch + ".attention.key_length").value_or(0);
  s.value_length = Scalar(g, s.arch + ".attention.value_length").value_or(0);
  return s;
}

StatusOr<GgufShape> CheckGgufFileHeader(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound("model file not found: " + path);
    return DataLoss("cannot read model file " + path + ": " + std::strerror(errno));
  }
  // Never open what is not a regular file: /dev/zero would be read forever, a FIFO would block.
  if (!S_ISREG(st.st_mode)) {
    return DataLoss("not a GGUF file: " + path +
                    (S_ISDIR(st.st_mode) ? " is a directory" : " is not a regular file"));
  }
  char magic[4] = {};
  std::ifstream in(path, std::ios::binary);
  if (!in.read(magic, 4) || std::string_view(magic, 4) != "GGUF")
    return DataLoss("not a GGUF file: " + path + " does not start with the GGUF magic");
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
  gguf_context* g = gguf_init_from_file(path.c_str(), params);
  if (!g) return DataLoss("not a GGUF file: " + path + " has an unreadable GGUF header");
  Status checked = CheckGgufHeader(g, static_cast<uint64_t>(st.st_size), path);
  GgufShape shape = ReadGgufShape(g);
  gguf_free(g);
  if (!checked.ok()) return checked;
  return shape;
}

}  // namespace cohost::loader
