// Builders for OpenAI-compatible response bodies and stream chunks. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "api/openai_request.h"

namespace cohost::api {

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

// Identifies one response: the same id and created time go into every chunk of a stream.
struct ResponseMeta {
  RequestKind kind = RequestKind::kCompletion;
  std::string id;     // "cmpl-..." or "chatcmpl-..."
  std::string model;
  int64_t created = 0;  // unix seconds
};

// A new response id with the right prefix for `kind`.
std::string NewResponseId(RequestKind kind);

// The whole (non-streaming) response.
std::string CompletionBody(const ResponseMeta& meta, std::string_view text,
                           std::string_view finish_reason, const Usage& usage);

// Stream chunks. For chat, the first chunk carries the assistant role.
std::string RoleChunk(const ResponseMeta& meta);
std::string TextChunk(const ResponseMeta& meta, std::string_view text);
std::string FinishChunk(const ResponseMeta& meta, std::string_view finish_reason);
// The extra chunk with empty choices and usage (stream_options.include_usage).
std::string UsageChunk(const ResponseMeta& meta, const Usage& usage);

// GET /v1/models for the given model ids.
std::string ModelListBody(const std::vector<std::string>& ids, int64_t created);

}  // namespace cohost::api
