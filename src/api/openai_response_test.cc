#include "api/openai_response.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace cohost::api {
namespace {

using json = nlohmann::json;

ResponseMeta Meta(RequestKind kind) {
  ResponseMeta m;
  m.kind = kind;
  m.id = kind == RequestKind::kChat ? "chatcmpl-abc" : "cmpl-abc";
  m.model = "tiny";
  m.created = 1700000000;
  return m;
}

void ExpectEnvelope(const json& j, const ResponseMeta& m, const char* object) {
  EXPECT_EQ(j.at("id"), m.id);
  EXPECT_EQ(j.at("object"), object);
  EXPECT_EQ(j.at("created"), m.created);
  EXPECT_EQ(j.at("model"), m.model);
}

void ExpectUsage(const json& j, int prompt, int completion) {
  ASSERT_TRUE(j.contains("usage")) << j.dump();
  EXPECT_EQ(j["usage"].at("prompt_tokens"), prompt);
  EXPECT_EQ(j["usage"].at("completion_tokens"), completion);
  EXPECT_EQ(j["usage"].at("total_tokens"), prompt + completion);
}

TEST(OpenAiResponseTest, CompletionBody) {
  const ResponseMeta m = Meta(RequestKind::kCompletion);
  json j = json::parse(CompletionBody(m, "hello", "length", {5, 3}));
  ExpectEnvelope(j, m, "text_completion");
  ASSERT_EQ(j.at("choices").size(), 1u);
  const json& c = j["choices"][0];
  EXPECT_EQ(c.at("index"), 0);
  EXPECT_EQ(c.at("text"), "hello");
  EXPECT_TRUE(c.at("logprobs").is_null());
  EXPECT_EQ(c.at("finish_reason"), "length");
  EXPECT_FALSE(c.contains("message"));
  ExpectUsage(j, 5, 3);
}

TEST(OpenAiResponseTest, ChatCompletionBody) {
  const ResponseMeta m = Meta(RequestKind::kChat);
  json j = json::parse(CompletionBody(m, "hi there", "stop", {10, 2}));
  ExpectEnvelope(j, m, "chat.completion");
  const json& c = j.at("choices").at(0);
  EXPECT_EQ(c.at("message").at("role"), "assistant");
  EXPECT_EQ(c.at("message").at("content"), "hi there");
  EXPECT_EQ(c.at("finish_reason"), "stop");
  EXPECT_FALSE(c.contains("text"));
  ExpectUsage(j, 10, 2);
}

TEST(OpenAiResponseTest, CompletionStreamChunks) {
  const ResponseMeta m = Meta(RequestKind::kCompletion);
  json text = json::parse(TextChunk(m, "abc"));
  ExpectEnvelope(text, m, "text_completion");
  EXPECT_EQ(text["choices"][0].at("text"), "abc");
  EXPECT_TRUE(text["choices"][0].at("finish_reason").is_null());
  EXPECT_FALSE(text["choices"][0].contains("delta"));
  EXPECT_FALSE(text.contains("usage"));

  json finish = json::parse(FinishChunk(m, "length"));
  ExpectEnvelope(finish, m, "text_completion");
  EXPECT_EQ(finish["choices"][0].at("text"), "");
  EXPECT_EQ(finish["choices"][0].at("finish_reason"), "length");
}

TEST(OpenAiResponseTest, ChatStreamChunks) {
  const ResponseMeta m = Meta(RequestKind::kChat);
  json role = json::parse(RoleChunk(m));
  ExpectEnvelope(role, m, "chat.completion.chunk");
  EXPECT_EQ(role["choices"][0].at("delta").at("role"), "assistant");
  EXPECT_EQ(role["choices"][0].at("delta").at("content"), "");
  EXPECT_TRUE(role["choices"][0].at("finish_reason").is_null());

  json text = json::parse(TextChunk(m, "abc"));
  ExpectEnvelope(text, m, "chat.completion.chunk");
  const json& delta = text["choices"][0].at("delta");
  EXPECT_EQ(delta.at("content"), "abc");
  EXPECT_FALSE(delta.contains("role"));
  EXPECT_FALSE(text["choices"][0].contains("text"));
  EXPECT_EQ(text["choices"][0].at("index"), 0);

  json finish = json::parse(FinishChunk(m, "stop"));
  ExpectEnvelope(finish, m, "chat.completion.chunk");
  EXPECT_TRUE(finish["choices"][0].at("delta").is_object());
  EXPECT_TRUE(finish["choices"][0].at("delta").empty());
  EXPECT_EQ(finish["choices"][0].at("finish_reason"), "stop");
}

TEST(OpenAiResponseTest, UsageChunk) {
  for (RequestKind kind : {RequestKind::kCompletion, RequestKind::kChat}) {
    const ResponseMeta m = Meta(kind);
    json j = json::parse(UsageChunk(m, {7, 11}));
    ExpectEnvelope(j, m, kind == RequestKind::kChat ? "chat.completion.chunk" : "text_completion");
    EXPECT_TRUE(j.at("choices").is_array());
    EXPECT_TRUE(j.at("choices").empty());
    ExpectUsage(j, 7, 11);
  }
}

TEST(OpenAiResponseTest, ModelListBody) {
  json j = json::parse(ModelListBody({"a", "b"}, 42));
  EXPECT_EQ(j.at("object"), "list");
  ASSERT_EQ(j.at("data").size(), 2u);
  EXPECT_EQ(j["data"][0].at("id"), "a");
  EXPECT_EQ(j["data"][1].at("id"), "b");
  for (const json& d : j["data"]) {
    EXPECT_EQ(d.at("object"), "model");
    EXPECT_EQ(d.at("created"), 42);
    EXPECT_EQ(d.at("owned_by"), "cohost");
  }
  j = json::parse(ModelListBody({}, 0));
  EXPECT_TRUE(j.at("data").is_array());
  EXPECT_TRUE(j.at("data").empty());
}

TEST(OpenAiResponseTest, NewResponseIdPrefixesAndUniqueness) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string c = NewResponseId(RequestKind::kCompletion);
    std::string chat = NewResponseId(RequestKind::kChat);
    EXPECT_EQ(c.rfind("cmpl-", 0), 0u) << c;
    EXPECT_EQ(chat.rfind("chatcmpl-", 0), 0u) << chat;
    EXPECT_GT(c.size(), 5u);
    ids.insert(c.substr(5));
    ids.insert(chat.substr(9));
  }
  EXPECT_EQ(ids.size(), 2000u);
}

TEST(OpenAiResponseTest, InvalidUtf8TextDoesNotThrow) {
  const std::string bad =
      "a\xFF"
      "b\xC3";  // a stray byte and a truncated character
  for (RequestKind kind : {RequestKind::kCompletion, RequestKind::kChat}) {
    const ResponseMeta m = Meta(kind);
    std::string body, chunk;
    ASSERT_NO_THROW(body = CompletionBody(m, bad, "stop", {1, 1}));
    ASSERT_NO_THROW(chunk = TextChunk(m, bad));
    // The output is valid JSON with the bad bytes replaced.
    json b, c;
    ASSERT_NO_THROW(b = json::parse(body));
    ASSERT_NO_THROW(c = json::parse(chunk));
    const json& field =
        kind == RequestKind::kChat ? c["choices"][0]["delta"]["content"] : c["choices"][0]["text"];
    const std::string text = field.get<std::string>();
    EXPECT_EQ(text.rfind("a", 0), 0u);
    EXPECT_NE(text.find("b"), std::string::npos);
    EXPECT_NE(text.find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD
  }
}

// The runner names its model after the file stem by default, and Linux file names are arbitrary
// bytes: every builder must survive a model id that is not valid UTF-8.
TEST(OpenAiResponseTest, InvalidUtf8ModelNameDoesNotThrow) {
  ResponseMeta m = Meta(RequestKind::kChat);
  m.model = "mod\xE8le";  // Latin-1, not UTF-8
  EXPECT_NO_THROW(json::parse(FinishChunk(m, "stop")));
  EXPECT_NO_THROW(json::parse(UsageChunk(m, {1, 1})));
  EXPECT_NO_THROW(json::parse(ModelListBody({m.model}, 0)));
  EXPECT_NO_THROW(json::parse(CompletionBody(m, "x", "stop", {1, 1})));
  EXPECT_NO_THROW(json::parse(RoleChunk(m)));
}

}  // namespace
}  // namespace cohost::api
