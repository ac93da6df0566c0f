// Model: one loaded llama.cpp model, its vocabulary and its chat template.
//
// Ownership: owns the llama_model; contexts (see Scheduler) borrow it and must be destroyed first.
// Thread safety: after Load() returns, every const method may be called from any thread
// (tokenizing and templating only read the vocabulary).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

struct llama_model;
struct llama_vocab;

namespace cohost::engine {

using Token = int32_t;

struct ModelOptions {
  std::string path;      // a GGUF file
  int gpu_layers = -1;   // layers to offload to accelerators; -1 = all (no effect without one)
  bool use_mmap = true;  // map the file instead of reading it
};

struct ChatMessage {
  std::string role;
  std::string content;
};

class Model {
 public:
  // Loads the model. Fails, before touching llama.cpp where it can, with:
  //   kNotFound   the file does not exist;
  //   kDataLoss   the file is not GGUF, or is truncated (sizes named), or llama.cpp rejects it
  //               (its own error message included).
  static StatusOr<std::unique_ptr<Model>> Load(const ModelOptions& options);
  // Takes ownership of a model created elsewhere (the streaming loader). REQUIRES: raw != nullptr.
  // n_params/size_bytes: the counts to report when llama.cpp has none (a model made with
  // llama_model_init_from_user reports 0); 0 keeps llama.cpp's.
  static std::unique_ptr<Model> Adopt(llama_model* raw, uint64_t n_params = 0, uint64_t size_bytes = 0);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  llama_model* raw() const { return model_; }
  const llama_vocab* vocab() const { return vocab_; }

  // Tokenizes text (adding BOS when the model wants it, and parsing special tokens).
  // Errors: kInvalidArgument (field "prompt") when the text cannot be tokenized.
  StatusOr<std::vector<Token>> Tokenize(std::string_view text) const;
  // The bytes of one token as generated text (special tokens render as nothing).
  std::string TokenPiece(Token token) const;
  bool IsEndOfGeneration(Token token) const;

  // Renders messages with the model's chat template (or chatml when it has none or llama.cpp
  // does not know it) and appends the assistant prefix.
  StatusOr<std::string> ApplyChatTemplate(const std::vector<ChatMessage>& messages) const;
  const std::string& chat_template_name() const { return chat_template_label_; }

  int n_vocab() const;
  int n_ctx_train() const;
  uint64_t n_params() const;
  uint64_t size_bytes() const;
  std::string description() const;

 private:
  Model() = default;
  void ChooseChatTemplate();

  llama_model* model_ = nullptr;
  const llama_vocab* vocab_ = nullptr;
  uint64_t n_params_ = 0;    // overrides llama.cpp's count when not 0
  uint64_t size_bytes_ = 0;  // likewise
  std::string chat_template_;        // the template text or a built-in name
  std::string chat_template_label_;  // "model" or "chatml (default)"
};

// Checks that `path` is a complete GGUF file: magic, readable header, and tensor data within the
// file size. Errors as for Model::Load. Cheap: reads only the header.
Status CheckGgufFile(const std::string& path);

}  // namespace cohost::engine
