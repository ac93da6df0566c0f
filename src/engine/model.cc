#include "engine/model.h"

#include <gguf.h>
#include <llama.h>

#include "core/log.h"
#include "engine/llama_runtime.h"
#include "loader/gguf_check.h"

namespace cohost::engine {

Status CheckGgufFile(const std::string& path) {
  TakeLlamaErrors();
  StatusOr<loader::GgufShape> checked = loader::CheckGgufFileHeader(path);
  if (checked.ok()) return Status::Ok();
  const Status& st = checked.status();
  std::string why = TakeLlamaErrors();  // gguf's reason for an unreadable header
  return Status(st.code(), st.message() + (why.empty() ? "" : ": " + why), st.field());
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
