#include "engine/synthetic_model.h"

#include <ggml.h>
#include <gguf.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "core/log.h"
#include "embedded/embedded_files.h"

namespace cohost::engine {
namespace {

struct GgufDeleter {
  void operator()(gguf_context* c) const { gguf_free(c); }
};
struct GgmlDeleter {
  void operator()(ggml_context* c) const { ggml_free(c); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;
using GgmlPtr = std::unique_ptr<ggml_context, GgmlDeleter>;

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

ggml_type ToGgml(WeightType t) {
  switch (t) {
    case WeightType::kF32: return GGML_TYPE_F32;
    case WeightType::kF16: return GGML_TYPE_F16;
    case WeightType::kQ8_0: return GGML_TYPE_Q8_0;
    case WeightType::kQ4_0: return GGML_TYPE_Q4_0;
  }
  return GGML_TYPE_F32;
}

uint32_t FileType(WeightType t) {  // llama_ftype values
  switch (t) {
    case WeightType::kF32: return 0;
    case WeightType::kF16: return 1;
    case WeightType::kQ8_0: return 7;
    case WeightType::kQ4_0: return 2;
  }
  return 0;
}

// How one tensor's values are made.
struct TensorSpec {
  std::string name;
  int64_t ne0, ne1;
  ggml_type type;
  bool ones;  // norm weights are 1.0
};

std::vector<TensorSpec> TensorsFor(const ModelShape& s, ggml_type wt) {
  int64_t e = s.n_embd, kv = static_cast<int64_t>(s.head_dim()) * s.n_head_kv;
  std::vector<TensorSpec> t;
  t.push_back({"token_embd.weight", e, s.n_vocab, wt, false});
  for (int i = 0; i < s.n_layer; ++i) {
    std::string p = "blk." + std::to_string(i) + ".";
    t.push_back({p + "attn_norm.weight", e, 1, GGML_TYPE_F32, true});
    t.push_back({p + "attn_q.weight", e, e, wt, false});
    t.push_back({p + "attn_k.weight", e, kv, wt, false});
    t.push_back({p + "attn_v.weight", e, kv, wt, false});
    t.push_back({p + "attn_output.weight", e, e, wt, false});
    t.push_back({p + "ffn_norm.weight", e, 1, GGML_TYPE_F32, true});
    t.push_back({p + "ffn_gate.weight", e, s.n_ff, wt, false});
    t.push_back({p + "ffn_down.weight", s.n_ff, e, wt, false});
    t.push_back({p + "ffn_up.weight", e, s.n_ff, wt, false});
  }
  t.push_back({"output_norm.weight", e, 1, GGML_TYPE_F32, true});
  t.push_back({"output.weight", e, s.n_vocab, wt, false});
  return t;
}

// Generates one tensor's bytes in row blocks and writes them to `f`.
Status WriteTensorData(const TensorSpec& t, uint64_t seed, float init_std, FILE* f) {
  uint64_t state = seed ^ Fnv1a(t.name);
  const float amp = init_std * std::sqrt(3.0f);
  const int64_t rows_per_block = std::max<int64_t>(1, (1 << 20) / t.ne0);
  std::vector<float> src;
  std::vector<uint8_t> dst;
  for (int64_t row = 0; row < t.ne1; row += rows_per_block) {
    int64_t nrows = std::min(rows_per_block, t.ne1 - row);
    src.resize(static_cast<size_t>(nrows * t.ne0));
    for (float& v : src) {
      if (t.ones) {
        v = 1.0f;
      } else {
        double u = static_cast<double>(SplitMix64(state) >> 11) * 0x1.0p-53;  // [0, 1)
        v = static_cast<float>((2.0 * u - 1.0) * amp);
      }
    }
    const void* out = src.data();
    size_t bytes = src.size() * sizeof(float);
    if (t.type != GGML_TYPE_F32) {
      bytes = ggml_row_size(t.type, t.ne0) * static_cast<size_t>(nrows);
      dst.resize(bytes);
      if (t.type == GGML_TYPE_F16) {
        ggml_fp32_to_fp16_row(src.data(), reinterpret_cast<ggml_fp16_t*>(dst.data()),
                              static_cast<int64_t>(src.size()));
      } else {
        ggml_quantize_chunk(t.type, src.data(), dst.data(), 0, nrows, t.ne0, nullptr);
      }
      out = dst.data();
    }
    if (fwrite(out, 1, bytes, f) != bytes) return Internal("write failed: " + std::string(strerror(errno)));
  }
  return Status::Ok();
}

Status PadTo(FILE* f, uint64_t offset) {
  long pos = ftell(f);
  if (pos < 0) return Internal("ftell failed");
  if (offset < static_cast<uint64_t>(pos)) return Internal("tensor data offsets out of order");
  static const char zeros[64] = {};
  for (uint64_t n = offset - static_cast<uint64_t>(pos); n > 0;) {
    size_t k = std::min<uint64_t>(n, sizeof(zeros));
    if (fwrite(zeros, 1, k, f) != k) return Internal("write failed: " + std::string(strerror(errno)));
    n -= k;
  }
  return Status::Ok();
}

void SetHyperParams(gguf_context* g, const SyntheticModelOptions& o) {
  const ModelShape& s = o.shape;
  gguf_set_val_str(g, "general.architecture", "llama");
  gguf_set_val_str(g, "general.name", o.name.c_str());
  gguf_set_val_u32(g, "general.file_type", FileType(o.weight_type));
  gguf_set_val_u32(g, "general.quantization_version", 2);
  gguf_set_val_u32(g, "llama.context_length", static_cast<uint32_t>(s.n_ctx_train));
  gguf_set_val_u32(g, "llama.embedding_length", static_cast<uint32_t>(s.n_embd));
  gguf_set_val_u32(g, "llama.block_count", static_cast<uint32_t>(s.n_layer));
  gguf_set_val_u32(g, "llama.feed_forward_length", static_cast<uint32_t>(s.n_ff));
  gguf_set_val_u32(g, "llama.attention.head_count", static_cast<uint32_t>(s.n_head));
  gguf_set_val_u32(g, "llama.attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  gguf_set_val_u32(g, "llama.rope.dimension_count", static_cast<uint32_t>(s.head_dim()));
  gguf_set_val_f32(g, "llama.rope.freq_base", 10000.0f);
  gguf_set_val_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
  gguf_set_val_u32(g, "llama.vocab_size", static_cast<uint32_t>(s.n_vocab));
  if (!o.chat_template.empty()) gguf_set_val_str(g, "tokenizer.chat_template", o.chat_template.c_str());
}

// Loads the tokenizer keys of a vocab-only GGUF into `out`; returns the vocabulary size.
// The built-in vocabulary is read from the executable's own memory: no file, no temporary copy.
StatusOr<int> CopyVocabulary(const std::string& vocab_path, gguf_context* out) {
  if (vocab_path.empty()) return NotFound("no vocabulary file given");
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
  GgufPtr vocab;
  if (vocab_path == kBuiltinVocab) {
    const std::string_view bytes = embedded::LlamaSpmVocabGguf();
    vocab.reset(gguf_init_from_buffer(bytes.data(), bytes.size(), params));
  } else {
    if (!std::filesystem::exists(vocab_path)) return NotFound("vocabulary file not found: " + vocab_path);
    vocab.reset(gguf_init_from_file(vocab_path.c_str(), params));
  }
  if (!vocab) return DataLoss("not a readable GGUF file: " + vocab_path);
  int64_t tokens = gguf_find_key(vocab.get(), "tokenizer.ggml.tokens");
  if (tokens < 0) return DataLoss("no tokenizer.ggml.tokens in " + vocab_path);
  gguf_set_kv(out, vocab.get());
  for (int64_t i = gguf_get_n_kv(out) - 1; i >= 0; --i) {
    std::string key = gguf_get_key(out, i);
    if (key.rfind("tokenizer.", 0) != 0) gguf_remove_key(out, key.c_str());
  }
  return static_cast<int>(gguf_get_arr_n(vocab.get(), tokens));
}

}  // namespace

StatusOr<WeightType> ParseWeightType(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n == "f32") return WeightType::kF32;
  if (n == "f16") return WeightType::kF16;
  if (n == "q8_0") return WeightType::kQ8_0;
  if (n == "q4_0") return WeightType::kQ4_0;
  return InvalidArgument("type", "'" + name + "' is not one of f32, f16, q8_0, q4_0");
}

const char* WeightTypeName(WeightType type) { return ggml_type_name(ToGgml(type)); }

std::string DefaultVocabPath() { return kBuiltinVocab; }

Status WriteSyntheticModel(const SyntheticModelOptions& options, const std::string& output_path) {
  SyntheticModelOptions o = options;
  GgufPtr g(gguf_init_empty());
  ASSIGN_OR_RETURN(o.shape.n_vocab, CopyVocabulary(o.vocab_path, g.get()));
  RETURN_IF_ERROR(o.shape.Validate());
  const ggml_type wt = ToGgml(o.weight_type);
  if (o.shape.n_embd % ggml_blck_size(wt) != 0 || o.shape.n_ff % ggml_blck_size(wt) != 0)
    return InvalidArgument("type", std::string(WeightTypeName(o.weight_type)) +
                                       " needs n_embd and n_ff to be multiples of " +
                                       std::to_string(ggml_blck_size(wt)));
  SetHyperParams(g.get(), o);

  std::vector<TensorSpec> specs = TensorsFor(o.shape, wt);
  ggml_init_params ip{ggml_tensor_overhead() * (specs.size() + 1), nullptr, /*no_alloc=*/true};
  GgmlPtr ctx(ggml_init(ip));
  for (const TensorSpec& t : specs) {
    ggml_tensor* tensor = t.ne1 == 1 ? ggml_new_tensor_1d(ctx.get(), t.type, t.ne0)
                                     : ggml_new_tensor_2d(ctx.get(), t.type, t.ne0, t.ne1);
    ggml_set_name(tensor, t.name.c_str());
    gguf_add_tensor(g.get(), tensor);
  }

  std::vector<uint8_t> meta(gguf_get_meta_size(g.get()));
  gguf_get_meta_data(g.get(), meta.data());
  const std::string tmp = output_path + ".tmp." + std::to_string(getpid());
  std::unique_ptr<FILE, int (*)(FILE*)> f(fopen(tmp.c_str(), "wb"), fclose);
  if (!f) return Internal("cannot create " + tmp + ": " + strerror(errno));
  Status st;
  if (fwrite(meta.data(), 1, meta.size(), f.get()) != meta.size()) st = Internal("write failed");
  // The metadata ends padded to the alignment; tensor offsets count from there.
  const uint64_t data_start = meta.size();
  for (size_t i = 0; st.ok() && i < specs.size(); ++i) {
    st = PadTo(f.get(), data_start + gguf_get_tensor_offset(g.get(), static_cast<int64_t>(i)));
    if (st.ok()) st = WriteTensorData(specs[i], o.seed, o.init_std, f.get());
  }
  if (st.ok()) {
    uint64_t end = static_cast<uint64_t>(ftell(f.get()));
    uint64_t align = GGUF_DEFAULT_ALIGNMENT;
    st = PadTo(f.get(), (end + align - 1) / align * align);
  }
  if (st.ok() && fflush(f.get()) != 0) st = Internal("flush failed: " + std::string(strerror(errno)));
  f.reset();
  if (st.ok() && rename(tmp.c_str(), output_path.c_str()) != 0)
    st = Internal("cannot rename to " + output_path + ": " + strerror(errno));
  if (!st.ok()) unlink(tmp.c_str());
  return st;
}

}  // namespace cohost::engine
