// Writes synthetic llama-architecture GGUF models for tests, demos and benchmarks.
//
// The weights are seeded random numbers (the text they produce is meaningless), but the file is a
// real GGUF model: llama.cpp's tools load it unchanged and its compute, memory and loading
// behaviour are those of a real model of that shape. The tokenizer is copied from a vocab-only
// GGUF (llama.cpp ships several; one, llama-spm, is built into cohost). The same options and seed
// always give the same bytes.
// The data is generated and written tensor by tensor, so memory use stays small for large models.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "engine/model_shape.h"

namespace cohost::engine {

enum class WeightType { kF32, kF16, kQ8_0, kQ4_0 };

// "f32", "f16", "q8_0", "q4_0" (case-insensitive).
StatusOr<WeightType> ParseWeightType(const std::string& name);
const char* WeightTypeName(WeightType type);

struct SyntheticModelOptions {
  ModelShape shape;                 // n_vocab is taken from the vocabulary file
  WeightType weight_type = WeightType::kF32;  // for 2-D weights; norms stay F32
  uint64_t seed = 42;
  std::string vocab_path;           // a vocab-only GGUF with tokenizer.* keys, or kBuiltinVocab
  std::string name = "cohost-synthetic";
  std::string chat_template;        // written as tokenizer.chat_template when not empty
  float init_std = 0.02f;           // standard deviation of the uniform random weights
};

// Names the vocabulary built into cohost (llama.cpp's ggml-vocab-llama-spm.gguf, 32000 tokens)
// wherever a vocabulary file is expected (SyntheticModelOptions::vocab_path, make-model --vocab).
inline constexpr char kBuiltinVocab[] = "builtin:llama-spm";

// The default vocabulary: kBuiltinVocab. Never empty; needs no file.
std::string DefaultVocabPath();

// Writes the model to `output_path` (via a temporary file renamed into place).
// Errors: kInvalidArgument for a bad shape or weight type (names the field), kNotFound /
// kDataLoss for a missing or unreadable vocabulary, kInternal for I/O failures.
Status WriteSyntheticModel(const SyntheticModelOptions& options, const std::string& output_path);

}  // namespace cohost::engine
