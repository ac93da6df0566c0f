#include "engine/model.h"

#include <gguf.h>
#include <llama.h>

#include <filesystem>
#include <fstream>

#include "core/log.h"
#include "engine/llama_runtime.h"

namespace cohost::engine {

Status CheckGgufFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFound("model file not found: " + path);
  if (!std::filesystem::is_regular_file(path, ec)) return DataLoss("model path is not a file: " + path);
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  char magic[4] = {};
  std::ifstream in(path, std::ios::binary);
  if (!in.read(magic, 4) || std::string_view(magic, 4) != "GGUF")
    return DataLoss("not a GGUF file (bad magic): " + path);
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
  gguf_context* g = gguf_init_from_file(path.c_str(), params);
  if (!g) {
    std::string why = TakeLlamaErrors();
    return DataLoss("unreadable GGUF header in " + path + (why.empty() ? "" : ": " + why));
  }
  uint64_t need = gguf_get_data_offset(g);
  for (int64_t i = 0; i < gguf_get_n_tensors(g); ++i) {
    need = std::max<uint64_t>(need, gguf_get_data_offset(g) + gguf_get_tensor_offset(g, i) +
                                        gguf_get_tensor_size(g, i));
  }
  gguf_free(g);
  if (file_size < need) {
    return DataLoss("model file is truncated: " + path + " has " + std::to_string(file_size) +
                    " bytes, its tensors need " + std::to_string(need));
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Model>> Model::Load(const ModelOptions& options) {
  RETURN_IF_ERROR(CheckGgufFile(options.path));
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = options.gpu_layers;
  if (!options.use_mmap) mp.load_mode = LLAMA_LOAD_MODE_NONE;
  TakeLlamaErrors();
  llama_model* raw = llama_model_load_from_file(options.path.c_str(), mp);
  if (!raw) {
    std::string why = TakeLlamaErrors();
    return DataLoss("llama.cpp could not load " + options.path + (why.empty() ? "" : ": " + why));
  }
  return Adopt(raw);
}

std::unique_ptr<Model> Model::Adopt(llama_model* raw, uint64_t n_params, uint64_t size_bytes) {
  std::unique_ptr<Model> m(new Model());
  m->model_ = raw;
  if (llama_model_n_params(raw) == 0) m->n_params_ = n_params;
  if (llama_model_size(raw) == 0) m->size_bytes_ = size_bytes;
  m->vocab_ = llama_model_get_vocab(raw);
  m->ChooseChatTemplate();
  return m;
}

Model::~Model() {
  if (model_) llama_model_free(model_);
}

void Model::ChooseChatTemplate() {
  const char* tmpl = llama_model_chat_template(model_, nullptr);
  if (tmpl) {
    llama_chat_message probe{"user", "hi"};
    if (llama_chat_apply_template(tmpl, &probe, 1, true, nullptr, 0) >= 0) {
      chat_template_ = tmpl;
      chat_template_label_ = "model";
      return;
    }
    log::Warn("model chat template not supported by llama.cpp; using chatml");
  }
  chat_template_ = "chatml";
  chat_template_label_ = "chatml (default)";
}

StatusOr<std::vector<Token>> Model::Tokenize(std::string_view text) const {
  std::vector<Token> tokens(text.size() + 8);
  for (int attempt = 0; attempt < 2; ++attempt) {
    int32_t n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                               static_cast<int32_t>(tokens.size()), /*add_special=*/true,
                               /*parse_special=*/true);
    if (n >= 0) {
      tokens.resize(static_cast<size_t>(n));
      return tokens;
    }
    if (n == INT32_MIN) break;
    tokens.resize(static_cast<size_t>(-n));
  }
  return InvalidArgument("prompt", "could not be tokenized");
}

std::string Model::TokenPiece(Token token) const {
  char buf[256];
  int32_t n = llama_token_to_piece(vocab_, token, buf, sizeof(buf), 0, /*special=*/false);
  if (n >= 0) return std::string(buf, static_cast<size_t>(n));
  std::string big(static_cast<size_t>(-n), '\0');
  n = llama_token_to_piece(vocab_, token, big.data(), static_cast<int32_t>(big.size()), 0, false);
  big.resize(static_cast<size_t>(std::max(0, n)));
  return big;
}

bool Model::IsEndOfGeneration(Token token) const { return llama_vocab_is_eog(vocab_, token); }

StatusOr<std::string> Model::ApplyChatTemplate(const std::vector<ChatMessage>& messages) const {
  std::vector<llama_chat_message> chat;
  size_t total = 0;
  for (const ChatMessage& m : messages) {
    chat.push_back({m.role.c_str(), m.content.c_str()});
    total += m.role.size() + m.content.size();
  }
  std::string out(total * 2 + 256, '\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    int32_t n = llama_chat_apply_template(chat_template_.c_str(), chat.data(), chat.size(), true,
                                          out.data(), static_cast<int32_t>(out.size()));
    if (n < 0) return InvalidArgument("messages", "the chat template could not render these messages");
    if (static_cast<size_t>(n) <= out.size()) {
      out.resize(static_cast<size_t>(n));
      return out;
    }
    out.resize(static_cast<size_t>(n));
  }
  return Internal("chat template output size changed between calls");
}

int Model::n_vocab() const { return llama_vocab_n_tokens(vocab_); }
int Model::n_ctx_train() const { return llama_model_n_ctx_train(model_); }
uint64_t Model::n_params() const { return n_params_ ? n_params_ : llama_model_n_params(model_); }
uint64_t Model::size_bytes() const { return size_bytes_ ? size_bytes_ : llama_model_size(model_); }
std::string Model::description() const {
  char buf[256];
  llama_model_desc(model_, buf, sizeof(buf));
  return buf;
}

}  // namespace cohost::engine
