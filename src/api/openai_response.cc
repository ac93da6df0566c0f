#include "api/openai_response.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

namespace cohost::api {
namespace {

using json = nlohmann::json;

bool IsChat(const ResponseMeta& m) { return m.kind == RequestKind::kChat; }

json Envelope(const ResponseMeta& m, bool chunk) {
  const char* object = IsChat(m) ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                 : "text_completion";
  return {{"id", m.id}, {"object", object}, {"created", m.created}, {"model", m.model}};
}

json UsageJson(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

json Choice(const ResponseMeta& m, json delta_or_text, const json& finish_reason) {
  json c = {{"index", 0}, {"finish_reason", finish_reason}};
  if (IsChat(m)) {
    c["delta"] = std::move(delta_or_text);
  } else {
    c["text"] = std::move(delta_or_text);
    c["logprobs"] = nullptr;
  }
  return c;
}

}  // namespace

std::string NewResponseId(RequestKind kind) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t base = std::random_device{}();
  char buf[40];
  snprintf(buf, sizeof(buf), "%s-%012llx", kind == RequestKind::kChat ? "chatcmpl" : "cmpl",
           static_cast<unsigned long long>((base << 20) + counter++) & 0xFFFFFFFFFFFFULL);
  return buf;
}

std::string CompletionBody(const ResponseMeta& m, std::string_view text,
                           std::string_view finish_reason, const Usage& usage) {
  json body = Envelope(m, false);
  json choice = {{"index", 0}, {"finish_reason", finish_reason}};
  if (IsChat(m)) {
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  } else {
    choice["text"] = text;
    choice["logprobs"] = nullptr;
  }
  body["choices"] = json::array({choice});
  body["usage"] = UsageJson(usage);
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string RoleChunk(const ResponseMeta& m) {
  json body = Envelope(m, true);
  body["choices"] = json::array({Choice(m, {{"role", "assistant"}, {"content", ""}}, nullptr)});
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string TextChunk(const ResponseMeta& m, std::string_view text) {
  json body = Envelope(m, true);
  json payload = IsChat(m) ? json{{"content", text}} : json(text);
  body["choices"] = json::array({Choice(m, std::move(payload), nullptr)});
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string FinishChunk(const ResponseMeta& m, std::string_view finish_reason) {
  json body = Envelope(m, true);
  json payload = IsChat(m) ? json::object() : json("");
  body["choices"] = json::array({Choice(m, std::move(payload), finish_reason)});
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string UsageChunk(const ResponseMeta& m, const Usage& usage) {
  json body = Envelope(m, true);
  body["choices"] = json::array();
  body["usage"] = UsageJson(usage);
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ModelListBody(const std::vector<std::string>& ids, int64_t created) {
  json data = json::array();
  for (const std::string& id : ids) {
    data.push_back({{"id", id}, {"object", "model"}, {"created", created}, {"owned_by", "cohost"}});
  }
  return json({{"object", "list"}, {"data", data}}).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace cohost::api
