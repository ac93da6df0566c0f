#include "api/openai_request.h"

#include <gtest/gtest.h>

#include <string>

namespace cohost::api {
namespace {

StatusOr<InferenceRequest> Completion(const std::string& body) {
  return ParseInferenceRequest(body, RequestKind::kCompletion);
}
StatusOr<InferenceRequest> Chat(const std::string& body) {
  return ParseInferenceRequest(body, RequestKind::kChat);
}

// Asserts that parsing failed with `code` and named `field`.
void ExpectError(const StatusOr<InferenceRequest>& r, StatusCode code, const std::string& field) {
  ASSERT_FALSE(r.ok()) << "expected an error naming " << field;
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_EQ(r.status().field(), field) << r.status().ToString();
  EXPECT_FALSE(r.status().message().empty());
}
void ExpectInvalid(const StatusOr<InferenceRequest>& r, const std::string& field) {
  ExpectError(r, StatusCode::kInvalidArgument, field);
}

const char kChatMessages[] = R"("messages": [{"role": "user", "content": "hi"}])";

std::string ChatWith(const std::string& extra) {
  return std::string("{") + kChatMessages + ", " + extra + "}";
}
std::string CompletionWith(const std::string& extra) {
  return R"({"prompt": "hi", )" + extra + "}";
}

TEST(ParseInferenceRequestTest, ValidCompletion) {
  StatusOr<InferenceRequest> r = Completion(R"({
    "model": "tiny", "prompt": "Once upon", "max_tokens": 32, "temperature": 0.5,
    "top_p": 0.9, "top_k": 40, "min_p": 0.05, "frequency_penalty": 0.5,
    "presence_penalty": -0.5, "repeat_penalty": 1.1, "seed": 7, "stop": ["\n", "END"],
    "stream": true, "stream_options": {"include_usage": true}, "ignore_eos": true})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, RequestKind::kCompletion);
  EXPECT_EQ(r->model, "tiny");
  EXPECT_EQ(r->prompt, "Once upon");
  EXPECT_TRUE(r->messages.empty());
  ASSERT_TRUE(r->max_tokens.has_value());
  EXPECT_EQ(*r->max_tokens, 32);
  EXPECT_FLOAT_EQ(r->temperature, 0.5f);
  EXPECT_FLOAT_EQ(r->top_p, 0.9f);
  EXPECT_EQ(r->top_k, 40);
  EXPECT_FLOAT_EQ(r->min_p, 0.05f);
  EXPECT_FLOAT_EQ(r->frequency_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r->presence_penalty, -0.5f);
  EXPECT_FLOAT_EQ(r->repeat_penalty, 1.1f);
  ASSERT_TRUE(r->seed.has_value());
  EXPECT_EQ(*r->seed, 7u);
  EXPECT_EQ(r->stop, (std::vector<std::string>{"\n", "END"}));
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_TRUE(r->ignore_eos);
}

TEST(ParseInferenceRequestTest, CompletionDefaults) {
  StatusOr<InferenceRequest> r = Completion(R"({"prompt": "x"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model, "");
  EXPECT_FALSE(r->max_tokens.has_value());
  EXPECT_FLOAT_EQ(r->temperature, 1.0f);
  EXPECT_FLOAT_EQ(r->top_p, 1.0f);
  EXPECT_FALSE(r->seed.has_value());
  EXPECT_TRUE(r->stop.empty());
  EXPECT_FALSE(r->stream);
  EXPECT_FALSE(r->include_usage);
  EXPECT_FALSE(r->ignore_eos);
}

TEST(ParseInferenceRequestTest, CompletionPromptAsOneElementArray) {
  StatusOr<InferenceRequest> r = Completion(R"({"prompt": ["only one"]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->prompt, "only one");
  // Several prompts are a real OpenAI feature that cohost does not offer.
  ExpectError(Completion(R"({"prompt": ["a", "b"]})"), StatusCode::kUnimplemented, "prompt");
}

TEST(ParseInferenceRequestTest, StopAsSingleString) {
  StatusOr<InferenceRequest> r = Completion(CompletionWith(R"("stop": "###")"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stop, std::vector<std::string>{"###"});
}

TEST(ParseInferenceRequestTest, ValidChat) {
  StatusOr<InferenceRequest> r = Chat(R"({
    "model": "tiny",
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Hello, "},
                                   {"type": "text", "text": "there"}]},
      {"role": "assistant", "content": null},
      {"role": "tool", "content": "42"}],
    "max_completion_tokens": 9})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, RequestKind::kChat);
  ASSERT_EQ(r->messages.size(), 4u);
  EXPECT_EQ(r->messages[0].role, "system");
  EXPECT_EQ(r->messages[0].content, "Be brief.");
  EXPECT_EQ(r->messages[1].role, "user");
  EXPECT_EQ(r->messages[1].content, "Hello, there");
  EXPECT_EQ(r->messages[2].role, "assistant");
  EXPECT_EQ(r->messages[2].content, "");
  EXPECT_EQ(r->messages[3].role, "tool");
  ASSERT_TRUE(r->max_tokens.has_value());
  EXPECT_EQ(*r->max_tokens, 9);
}

TEST(ParseInferenceRequestTest, ChatMaxCompletionTokensWinsOverMaxTokens) {
  StatusOr<InferenceRequest> r = Chat(ChatWith(R"("max_tokens": 5, "max_completion_tokens": 7)"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->max_tokens, 7);
  ExpectInvalid(Chat(ChatWith(R"("max_completion_tokens": 0)")), "max_completion_tokens");
}

TEST(ParseInferenceRequestTest, DeveloperRoleMapsToSystem) {
  StatusOr<InferenceRequest> r =
      Chat(R"({"messages": [{"role": "developer", "content": "rules"}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->messages[0].role, "system");
  EXPECT_EQ(r->messages[0].content, "rules");
}

TEST(ParseInferenceRequestTest, UnknownFieldsAreIgnored) {
  StatusOr<InferenceRequest> r = Completion(CompletionWith(
      R"("user": "u-1", "metadata": {"a": 1}, "some_future_option": [1, 2, 3], "logit_bias": {})"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->prompt, "hi");
}

TEST(ParseInferenceRequestTest, NullMeansAbsent) {
  StatusOr<InferenceRequest> r = Completion(CompletionWith(
      R"("max_tokens": null, "temperature": null, "stop": null, "seed": null, "stream": null,
         "stream_options": null, "n": null, "logprobs": null)"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->max_tokens.has_value());
  EXPECT_FLOAT_EQ(r->temperature, 1.0f);
}

TEST(ParseInferenceRequestTest, NegativeSeedMeansRandom) {
  StatusOr<InferenceRequest> r = Completion(CompletionWith(R"("seed": -1)"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->seed.has_value());
  r = Completion(CompletionWith(R"("seed": 0)"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->seed.has_value());
  EXPECT_EQ(*r->seed, 0u);
  ExpectInvalid(Completion(CompletionWith(R"("seed": 1.5)")), "seed");
}

TEST(ParseInferenceRequestTest, BodyMustBeJsonObject) {
  ExpectInvalid(Completion("{not json"), "body");
  ExpectInvalid(Completion(""), "body");
  ExpectInvalid(Completion("[1, 2]"), "body");
  ExpectInvalid(Completion("\"prompt\""), "body");
  ExpectInvalid(Chat("42"), "body");
}

TEST(ParseInferenceRequestTest, PromptErrors) {
  ExpectInvalid(Completion("{}"), "prompt");
  ExpectInvalid(Completion(R"({"prompt": null})"), "prompt");
  ExpectInvalid(Completion(R"({"prompt": 42})"), "prompt");
  ExpectInvalid(Completion(R"({"prompt": {"text": "x"}})"), "prompt");
  ExpectInvalid(Completion(R"({"prompt": [1, 2, 3]})"), "prompt");
  ExpectInvalid(Completion(R"({"prompt": []})"), "prompt");
}

TEST(ParseInferenceRequestTest, ModelMustBeString) {
  ExpectInvalid(Completion(CompletionWith(R"("model": 3)")), "model");
}

TEST(ParseInferenceRequestTest, MessagesErrors) {
  ExpectInvalid(Chat("{}"), "messages");
  ExpectInvalid(Chat(R"({"messages": []})"), "messages");
  ExpectInvalid(Chat(R"({"messages": "hi"})"), "messages");
  ExpectInvalid(Chat(R"({"messages": {"role": "user", "content": "hi"}})"), "messages");
  ExpectInvalid(Chat(R"({"messages": ["hi"]})"), "messages[0]");
  ExpectInvalid(Chat(R"({"messages": [{"role": "user", "content": "a"},
                                       {"role": "wizard", "content": "b"}]})"),
                "messages[1].role");
  ExpectInvalid(Chat(R"({"messages": [{"content": "a"}]})"), "messages[0].role");
  ExpectInvalid(Chat(R"({"messages": [{"role": "user"}]})"), "messages[0].content");
  ExpectInvalid(Chat(R"({"messages": [{"role": "user", "content": 5}]})"), "messages[0].content");
  ExpectInvalid(Chat(R"({"messages": [{"role": "user", "content": ["x"]}]})"),
                "messages[0].content[0]");
  ExpectInvalid(Chat(R"({"messages": [{"role": "user", "content": [{"text": "x"}]}]})"),
                "messages[0].content[0].type");
  ExpectInvalid(Chat(R"({"messages": [{"role": "user", "content": [{"type": "text"}]}]})"),
                "messages[0].content[0].text");
}

TEST(ParseInferenceRequestTest, TooManyMessages) {
  RequestLimits limits;
  limits.max_messages = 1;
  StatusOr<InferenceRequest> r = ParseInferenceRequest(
      R"({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]})",
      RequestKind::kChat, limits);
  ExpectInvalid(r, "messages");
}

TEST(ParseInferenceRequestTest, NonTextContentPartIsUnimplemented) {
  ExpectError(Chat(R"({"messages": [{"role": "user", "content": [
                  {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]})"),
              StatusCode::kUnimplemented, "messages[0].content[0].type");
}

TEST(ParseInferenceRequestTest, SamplingRanges) {
  ExpectInvalid(Completion(CompletionWith(R"("temperature": 2.5)")), "temperature");
  ExpectInvalid(Completion(CompletionWith(R"("temperature": -0.1)")), "temperature");
  ExpectInvalid(Completion(CompletionWith(R"("temperature": "hot")")), "temperature");
  ExpectInvalid(Completion(CompletionWith(R"("top_p": 0)")), "top_p");
  ExpectInvalid(Completion(CompletionWith(R"("top_p": 1.5)")), "top_p");
  ExpectInvalid(Completion(CompletionWith(R"("top_k": -1)")), "top_k");
  ExpectInvalid(Completion(CompletionWith(R"("min_p": 2)")), "min_p");
  ExpectInvalid(Completion(CompletionWith(R"("frequency_penalty": 3)")), "frequency_penalty");
  ExpectInvalid(Completion(CompletionWith(R"("presence_penalty": -3)")), "presence_penalty");
  ExpectInvalid(Completion(CompletionWith(R"("repeat_penalty": 0)")), "repeat_penalty");
  // The edges are allowed.
  StatusOr<InferenceRequest> r =
      Completion(CompletionWith(R"("temperature": 0, "top_p": 1, "min_p": 0)"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FLOAT_EQ(r->temperature, 0.0f);
  r = Completion(CompletionWith(R"("temperature": 2)"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST(ParseInferenceRequestTest, MaxTokensErrors) {
  ExpectInvalid(Completion(CompletionWith(R"("max_tokens": 0)")), "max_tokens");
  ExpectInvalid(Completion(CompletionWith(R"("max_tokens": -5)")), "max_tokens");
  ExpectInvalid(Completion(CompletionWith(R"("max_tokens": "10")")), "max_tokens");
  ExpectInvalid(Completion(CompletionWith(R"("max_tokens": 10.5)")), "max_tokens");
  ExpectInvalid(Completion(CompletionWith(R"("max_tokens": 3000000000)")), "max_tokens");
  ExpectInvalid(Completion(CompletionWith(R"("max_tokens": 18446744073709551615)")), "max_tokens");
}

TEST(ParseInferenceRequestTest, StopErrors) {
  RequestLimits limits;
  limits.max_stop_strings = 2;
  limits.max_stop_length = 4;
  auto parse = [&limits](const std::string& extra) {
    return ParseInferenceRequest(CompletionWith(extra), RequestKind::kCompletion, limits);
  };
  ExpectInvalid(parse(R"("stop": ["a", "b", "c"])"), "stop");
  ExpectInvalid(parse(R"("stop": ["a", ""])"), "stop[1]");
  ExpectInvalid(parse(R"("stop": "")"), "stop");
  ExpectInvalid(parse(R"("stop": ["a", 3])"), "stop[1]");
  ExpectInvalid(parse(R"("stop": ["toolong"])"), "stop[0]");
  ExpectInvalid(parse(R"("stop": 7)"), "stop");
  EXPECT_TRUE(parse(R"("stop": ["abcd", "x"])").ok());
  // The default limit is 16 strings.
  std::string many = R"("stop": [)";
  for (int i = 0; i < 17; ++i) many += (i ? ", \"s" : "\"s") + std::to_string(i) + "\"";
  ExpectInvalid(Completion(CompletionWith(many + "]")), "stop");
}

TEST(ParseInferenceRequestTest, UnsupportedFeaturesAreRefusedByName) {
  ExpectError(Completion(CompletionWith(R"("n": 2)")), StatusCode::kUnimplemented, "n");
  ExpectInvalid(Completion(CompletionWith(R"("n": 0)")), "n");
  EXPECT_TRUE(Completion(CompletionWith(R"("n": 1)")).ok());
  ExpectError(Completion(CompletionWith(R"("best_of": 3)")), StatusCode::kUnimplemented, "best_of");
  ExpectError(Completion(CompletionWith(R"("logprobs": 5)")), StatusCode::kUnimplemented,
              "logprobs");
  ExpectError(Chat(ChatWith(R"("logprobs": true)")), StatusCode::kUnimplemented, "logprobs");
  EXPECT_TRUE(Chat(ChatWith(R"("logprobs": false)")).ok());
  ExpectError(Completion(CompletionWith(R"("echo": true)")), StatusCode::kUnimplemented, "echo");
  ExpectError(Completion(CompletionWith(R"("suffix": "end")")), StatusCode::kUnimplemented,
              "suffix");
}

TEST(ParseInferenceRequestTest, ToolsOnChatAreUnimplemented) {
  ExpectError(Chat(ChatWith(R"("tools": [{"type": "function", "function": {"name": "f"}}])")),
              StatusCode::kUnimplemented, "tools");
  ExpectError(Chat(ChatWith(R"("functions": [{"name": "f"}])")), StatusCode::kUnimplemented,
              "functions");
  EXPECT_TRUE(Chat(ChatWith(R"("tools": [])")).ok());
  ExpectError(Chat(ChatWith(R"("response_format": {"type": "json_object"})")),
              StatusCode::kUnimplemented, "response_format");
  EXPECT_TRUE(Chat(ChatWith(R"("response_format": {"type": "text"})")).ok());
  // On the completions endpoint "tools" is not an OpenAI field, so it is an ignored unknown.
  EXPECT_TRUE(Completion(CompletionWith(R"("tools": [{"type": "function"}])")).ok());
}

TEST(ParseInferenceRequestTest, StreamFieldTypes) {
  ExpectInvalid(Completion(CompletionWith(R"("stream": "yes")")), "stream");
  ExpectInvalid(Completion(CompletionWith(R"("ignore_eos": 1)")), "ignore_eos");
  ExpectInvalid(Completion(CompletionWith(R"("stream_options": true)")), "stream_options");
  ExpectInvalid(Completion(CompletionWith(R"("stream_options": {"include_usage": "yes"})")),
                "stream_options.include_usage");
  StatusOr<InferenceRequest> r =
      Chat(ChatWith(R"("stream": true, "stream_options": {"include_usage": false, "other": 1})"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->stream);
  EXPECT_FALSE(r->include_usage);
}

TEST(ParseRoutingTest, ReadsModelAndStream) {
  StatusOr<RequestRouting> r = ParseRouting(R"({"model": "m1", "stream": true, "prompt": 5})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model, "m1");
  EXPECT_TRUE(r->stream);

  r = ParseRouting(R"({"messages": "not validated here"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model, "");
  EXPECT_FALSE(r->stream);

  // Only the top level counts: "model" and "stream" inside other fields are someone else's.
  r = ParseRouting(R"({"messages": [{"model": 5, "stream": "x"}, {"content": {"model": "inner"}}],)"
                   R"( "model": "outer", "stream": null, "extra": {"stream": true}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model, "outer");
  EXPECT_FALSE(r->stream);
  r = ParseRouting(R"({"model": null, "stream": false})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model, "");
}

TEST(ParseRoutingTest, Errors) {
  StatusOr<RequestRouting> r = ParseRouting("{oops");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "body");
  r = ParseRouting("[]");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "body");
  r = ParseRouting(R"({"model": ["a"]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "model");
  r = ParseRouting(R"({"stream": "true"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "stream");
  EXPECT_EQ(r.status().message(), "expected a boolean, got string");
  r = ParseRouting(R"({"model": {"name": "m"}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "expected a string, got object");
  r = ParseRouting("7");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "body");
  EXPECT_EQ(r.status().message(), "expected a JSON object, got integer");
  r = ParseRouting(R"({"model": "m"} trailing)");  // the whole body must be JSON
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "body");
}

}  // namespace
}  // namespace cohost::api
