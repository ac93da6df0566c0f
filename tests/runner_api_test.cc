// The runner's OpenAI-compatible API over real HTTP: completions, chat, streaming, determinism,
// and every kind of bad input (each answered 4xx naming the field, with the runner serving on).
#include <gtest/gtest.h>

#include "support/harness.h"

namespace cohost::testing {
namespace {

class RunnerApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    runner_ = Runner::Start(SmallModel(), {"--parallel", "4", "--context", "256",
                                           "--max-body-bytes", "65536", "--alias", "small"})
                  .release();
  }
  static void TearDownTestSuite() {
    delete runner_;
    runner_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(runner_, nullptr); }

  static Runner* runner_;
};
Runner* RunnerApiTest::runner_ = nullptr;

json Completion(int max_tokens, json extra = json::object()) {
  json body = {{"model", "small"}, {"prompt", "The quick brown fox"}, {"max_tokens", max_tokens},
               {"temperature", 0}, {"ignore_eos", true}};
  body.update(extra);
  return body;
}

TEST_F(RunnerApiTest, CompletionReturnsTextAndUsage) {
  auto c = runner_->Client();
  JsonResponse r = PostJson(c, "/v1/completions", Completion(8));
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["object"], "text_completion");
  EXPECT_EQ(r.body["model"], "small");
  EXPECT_EQ(r.body["choices"][0]["finish_reason"], "length");
  EXPECT_FALSE(r.body["choices"][0]["text"].get<std::string>().empty());
  EXPECT_EQ(r.body["usage"]["completion_tokens"], 8);
  EXPECT_GT(r.body["usage"]["prompt_tokens"].get<int>(), 3);
  EXPECT_EQ(r.body["usage"]["total_tokens"].get<int>(),
            r.body["usage"]["prompt_tokens"].get<int>() + 8);
}

TEST_F(RunnerApiTest, StreamingMatchesNonStreamingAndEndsWithDone) {
  auto c = runner_->Client();
  JsonResponse whole = PostJson(c, "/v1/completions", Completion(12));
  ASSERT_EQ(whole.status, 200);
  StreamResult s = PostStream(c, "/v1/completions",
                              Completion(12, {{"stream", true}, {"stream_options", {{"include_usage", true}}}}));
  ASSERT_EQ(s.status, 200);
  ASSERT_FALSE(s.events.empty());
  EXPECT_EQ(s.events.back(), "[DONE]");
  EXPECT_EQ(s.text, whole.body["choices"][0]["text"].get<std::string>());
  EXPECT_EQ(s.finish_reason, "length");
  EXPECT_EQ(s.usage["completion_tokens"], 12);
}

TEST_F(RunnerApiTest, ChatCompletionAndStream) {
  auto c = runner_->Client();
  json body = {{"model", "small"},
               {"messages", {{{"role", "system"}, {"content", "Be brief."}},
                             {{"role", "user"}, {"content", "Hello"}}}},
               {"max_tokens", 6}, {"temperature", 0}, {"ignore_eos", true}};
  JsonResponse r = PostJson(c, "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["object"], "chat.completion");
  EXPECT_EQ(r.body["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(r.body["usage"]["completion_tokens"], 6);

  body["stream"] = true;
  StreamResult s = PostStream(c, "/v1/chat/completions", body);
  ASSERT_EQ(s.status, 200);
  json first = json::parse(s.events.front());
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(s.text, r.body["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_EQ(s.events.back(), "[DONE]");
}

TEST_F(RunnerApiTest, FixedSeedIsDeterministic) {
  auto c = runner_->Client();
  json body = Completion(16, {{"temperature", 0.9}, {"seed", 1234}, {"top_k", 40}});
  JsonResponse a = PostJson(c, "/v1/completions", body);
  JsonResponse b = PostJson(c, "/v1/completions", body);
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body["choices"][0]["text"], b.body["choices"][0]["text"]);
  body["seed"] = 99;
  JsonResponse other = PostJson(c, "/v1/completions", body);
  EXPECT_NE(a.body["choices"][0]["text"], other.body["choices"][0]["text"]);
}

TEST_F(RunnerApiTest, StopStringEndsGeneration) {
  auto c = runner_->Client();
  JsonResponse free_run = PostJson(c, "/v1/completions", Completion(12));
  std::string text = free_run.body["choices"][0]["text"];
  ASSERT_GE(text.size(), 4u);
  std::string stop = text.substr(text.size() / 2, 2);
  JsonResponse r = PostJson(c, "/v1/completions", Completion(12, {{"stop", {stop}}}));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["choices"][0]["finish_reason"], "stop");
  std::string stopped = r.body["choices"][0]["text"];
  EXPECT_EQ(stopped, text.substr(0, text.find(stop)));
}

TEST_F(RunnerApiTest, ModelsAndHealth) {
  auto c = runner_->Client();
  auto models = c.Send("GET", "/v1/models");
  ASSERT_TRUE(models.ok());
  json m = json::parse(models->body);
  EXPECT_EQ(m["data"][0]["id"], "small");
  auto health = c.Send("GET", "/healthz");
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(c.Send("GET", "/nope")->status, 404);
  EXPECT_EQ(c.Send("GET", "/v1/completions")->status, 405);
}

struct BadInput {
  const char* name;
  std::string target;
  std::string body;  // raw
  int status;
  const char* param;
};

TEST_F(RunnerApiTest, BadInputIsRefusedNamingTheField) {
  const std::string long_prompt(4000, 'x');  // far more than 256 tokens of context
  std::vector<BadInput> cases = {
      {"malformed json", "/v1/completions", "{\"prompt\": ", 400, "body"},
      {"not an object", "/v1/completions", "[1,2]", 400, "body"},
      {"prompt wrong type", "/v1/completions", R"({"prompt": 5})", 400, "prompt"},
      {"prompt missing", "/v1/completions", R"({"max_tokens": 5})", 400, "prompt"},
      {"max_tokens wrong type", "/v1/completions", R"({"prompt": "a", "max_tokens": "5"})", 400, "max_tokens"},
      {"max_tokens zero", "/v1/completions", R"({"prompt": "a", "max_tokens": 0})", 400, "max_tokens"},
      {"max_tokens too large", "/v1/completions", R"({"prompt": "a", "max_tokens": 100000})", 400, "max_tokens"},
      {"temperature out of range", "/v1/completions", R"({"prompt": "a", "temperature": 7})", 400, "temperature"},
      {"stream wrong type", "/v1/completions", R"({"prompt": "a", "stream": "yes"})", 400, "stream"},
      {"n unsupported", "/v1/completions", R"({"prompt": "a", "n": 2})", 400, "n"},
      {"stop wrong type", "/v1/completions", R"({"prompt": "a", "stop": 3})", 400, "stop"},
      {"unknown model", "/v1/completions", R"({"model": "nope", "prompt": "a"})", 404, "model"},
      {"prompt longer than context", "/v1/completions", json({{"prompt", long_prompt}}).dump(), 400, "prompt"},
      {"messages missing", "/v1/chat/completions", R"({"model": "small"})", 400, "messages"},
      {"bad role", "/v1/chat/completions", R"({"messages": [{"role": "robot", "content": "hi"}]})", 400, "messages[0].role"},
      {"chat too long", "/v1/chat/completions",
       json({{"messages", {{{"role", "user"}, {"content", long_prompt}}}}}).dump(), 400, "messages"},
  };
  for (const BadInput& bad : cases) {
    SCOPED_TRACE(bad.name);
    auto c = runner_->Client();
    auto r = c.Send("POST", bad.target, bad.body);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, bad.status) << r->body;
    json body = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r->body;
    EXPECT_EQ(body["error"]["param"], bad.param) << r->body;
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
  }
  auto c = runner_->Client();
  json err = json::parse(c.Send("POST", "/v1/completions", R"({"model": "nope", "prompt": "a"})")->body);
  EXPECT_EQ(err["error"]["code"], "model_not_found");
  // The runner still serves.
  JsonResponse ok = PostJson(c, "/v1/completions", Completion(2));
  EXPECT_EQ(ok.status, 200);
}

TEST_F(RunnerApiTest, BodyOverTheLimitIs413) {
  auto c = runner_->Client();
  json body = {{"prompt", std::string(70000, 'a')}};
  auto r = c.Send("POST", "/v1/completions", body.dump());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  json err = json::parse(r->body);
  EXPECT_NE(err["error"]["message"].get<std::string>().find("65536"), std::string::npos);
  auto c2 = runner_->Client();
  EXPECT_EQ(PostJson(c2, "/v1/completions", Completion(2)).status, 200);
}

}  // namespace
}  // namespace cohost::testing
