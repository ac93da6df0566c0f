// Hostile model files and request bodies (issue 14, part 3): a GGUF whose header would make
// llama.cpp abort, model URIs that are not GGUF files, JSON numbers out of range, a PATCH with a
// mistyped revision, max_tokens near INT_MAX, and logit_bias. Each is a 400 naming the field;
// serve and the runner keep serving.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "support/serve.h"

namespace cohost::testing {
namespace {

// A copy of `model` with the uint32 value of GGUF key `key` replaced by `value`.
std::string PatchU32(const std::string& model, const std::string& key, uint32_t value, const std::string& out) {
  std::string bytes = ReadFile(model);
  size_t at = bytes.find(key);
  EXPECT_NE(at, std::string::npos) << key;
  at += key.size() + 4;  // the key's bytes, then its uint32 type tag, then the value
  std::memcpy(bytes.data() + at, &value, 4);
  std::ofstream(out, std::ios::binary) << bytes;
  return out;
}

TEST(HostileModelTest, RunnerOnAModelWithImpossibleBlockCountExitsOneWithTheKey) {
  TempDir dir;
  for (uint32_t v : {0u, 0xFFFFFFFFu}) {
    SCOPED_TRACE(v);
    std::string bad = PatchU32(SmallModel(), "llama.block_count", v, dir.File("bad.gguf"));
    ExitResult r = RunCohost({"runner", "--model", bad, "--port", "0"});
    EXPECT_EQ(r.status, 1) << r.output;  // not 134 (SIGABRT inside llama.cpp)
    EXPECT_NE(r.output.find("llama.block_count is " + std::to_string(v)), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("allowed: 1 to 512"), std::string::npos) << r.output;
  }
}

TEST(HostileModelTest, MakeModelSaysWhenTheVocabularyOutgrowsTheRequestedSize) {
  TempDir dir;
  ExitResult r = RunCohost({"make-model", "--params", "5M", "--output", dir.File("m.gguf")});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("note: asked for 5.0M parameters, wrote 8.4M"), std::string::npos) << r.output;
  r = RunCohost({"make-model", "--params", "60M", "--output", dir.File("m60.gguf")});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("note:"), std::string::npos) << r.output;
}

class HostileServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    serve_ = std::make_unique<Serve>(dir_.path(), WriteInventory(dir_, 1, 4096));
    ASSERT_GT(serve_->port(), 0) << serve_->Log();
    ASSERT_EQ(serve_->Call("POST", "/v1/endpoints", {{"name", "main"}}).status, 201);
  }
  TempDir dir_;
  std::unique_ptr<Serve> serve_;
};

TEST_F(HostileServeTest, BadModelFilesAre400NamingModelUriAndServeKeepsServing) {
  ASSERT_EQ(serve_->Call("POST", "/v1/inference-components", ComponentSpec("good", SmallModel(), 0.25, 1)).status, 201);
  ASSERT_TRUE(WaitUntil([&] { return serve_->ReadyCopies("good") == 1; }, std::chrono::seconds(90))) << serve_->Log();

  const std::string truncated = dir_.File("truncated.gguf");
  {
    std::string bytes = ReadFile(SmallModel());
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  std::ofstream(dir_.File("text.gguf")) << "not a model";
  std::filesystem::create_directories(dir_.File("adir"));
  struct Case {
    std::string uri;
    std::string says;
  };
  const std::vector<Case> cases = {
      {PatchU32(SmallModel(), "llama.block_count", 0, dir_.File("bc0.gguf")), "llama.block_count is 0"},
      {PatchU32(SmallModel(), "llama.block_count", 0xFFFFFFFF, dir_.File("bcmax.gguf")), "llama.block_count"},
      {dir_.File("adir"), "is a directory"},
      {"/dev/zero", "is not a regular file"},
      {dir_.File("text.gguf"), "GGUF magic"},
      {truncated, "truncated"},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.uri);
    JsonResponse r = serve_->Call("POST", "/v1/inference-components",
                                  ComponentSpec("bad" + std::to_string(n++), c.uri, 0.25, 1));
    EXPECT_EQ(r.status, 400) << r.raw;
    EXPECT_EQ(r.body["error"]["param"], "model.uri") << r.raw;
    EXPECT_NE(r.raw.find(c.says), std::string::npos) << r.raw;
  }
  EXPECT_EQ(serve_->Call("GET", "/healthz").status, 200);
  auto client = serve_->Client();
  JsonResponse ok = PostJson(client, "/v1/completions", {{"model", "good"}, {"prompt", "hi"}, {"max_tokens", 2}});
  EXPECT_EQ(ok.status, 200) << ok.raw;
}

TEST_F(HostileServeTest, AContextBeyondTheTrainedContextIs400BeforeTheDryRun) {
  json spec = ComponentSpec("long", SmallModel(), 0.25, 0);
  spec["startup"] = {{"context_length", 1048576}, {"parallel", 256}};
  JsonResponse r = serve_->Call("POST", "/v1/inference-components", spec);
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(r.body["error"]["param"], "startup.context_length") << r.raw;
  EXPECT_NE(r.raw.find("llama.context_length = 4096"), std::string::npos) << r.raw;
  EXPECT_EQ(serve_->Call("GET", "/healthz").status, 200);
}

TEST_F(HostileServeTest, PatchWithMistypedFieldsIs400NamingTheField) {
  ASSERT_EQ(serve_->Call("POST", "/v1/inference-components", ComponentSpec("c", SmallModel(), 0.25, 0)).status, 201);
  JsonResponse r = serve_->Call("PATCH", "/v1/inference-components/c", {{"revision", "x"}});
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(r.body["error"]["param"], "revision") << r.raw;
  r = serve_->Call("PATCH", "/v1/inference-components/c", json::array({1, 2}));
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(r.body["error"]["param"], "body") << r.raw;
  auto client = serve_->Client();
  auto raw = client.Send("PATCH", "/v1/inference-components/c", R"({"priority": 1e309})");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->status, 400) << raw->body;
  EXPECT_NE(raw->body.find("\"priority\""), std::string::npos) << raw->body;
}

class HostileRunnerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    runner_ = Runner::Start(SmallModel(), {"--parallel", "2", "--context", "256"}).release();
  }
  static void TearDownTestSuite() {
    delete runner_;
    runner_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(runner_, nullptr); }
  static Runner* runner_;
};
Runner* HostileRunnerTest::runner_ = nullptr;

TEST_F(HostileRunnerTest, OutOfRangeNumbersAndHugeMaxTokensAre400NamingTheField) {
  struct Bad {
    std::string target, body, param;
  };
  const std::vector<Bad> cases = {
      {"/v1/completions", R"({"prompt": "a", "temperature": 1e309})", "temperature"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "a"}], "top_p": -1e400})", "top_p"},
      {"/v1/completions", R"({"prompt": "a", "max_tokens": 2147483647})", "max_tokens"},
      {"/v1/completions", R"({"prompt": "a", "max_tokens": 2147483630})", "max_tokens"},
      {"/v1/completions", R"({"prompt": "a", "logit_bias": {"99999999": 5}})", "logit_bias.99999999"},
      {"/v1/completions", R"({"prompt": "a", "logit_bias": {"x": 5}})", "logit_bias.x"},
      {"/v1/completions", R"({"prompt": "a", "logit_bias": {"5": 101}})", "logit_bias.5"},
  };
  auto c = runner_->Client();
  for (const Bad& b : cases) {
    SCOPED_TRACE(b.body);
    auto r = c.Send("POST", b.target, b.body);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 400) << r->body;
    json body = json::parse(r->body, nullptr, false);
    EXPECT_EQ(body["error"]["param"], b.param) << r->body;
  }
  EXPECT_EQ(PostJson(c, "/v1/completions", {{"prompt", "a"}, {"max_tokens", 2}}).status, 200);
}

TEST_F(HostileRunnerTest, ChatOverTheContextSaysContextLengthExceeded) {
  auto c = runner_->Client();
  JsonResponse r = PostJson(c, "/v1/chat/completions",
                            {{"messages", {{{"role", "user"}, {"content", std::string(4000, 'x')}}}}});
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(r.body["error"]["code"], "context_length_exceeded") << r.raw;
}

TEST_F(HostileRunnerTest, LogitBiasSteersGreedyDecoding) {
  auto c = runner_->Client();
  json base = {{"prompt", "The quick brown fox"}, {"max_tokens", 4}, {"temperature", 0}, {"ignore_eos", true}};
  JsonResponse plain = PostJson(c, "/v1/completions", base);
  ASSERT_EQ(plain.status, 200) << plain.raw;
  json forced = base;
  forced["logit_bias"] = {{"1000", 100}};
  JsonResponse a = PostJson(c, "/v1/completions", forced);
  ASSERT_EQ(a.status, 200) << a.raw;
  const std::string text = a.body["choices"][0]["text"].get<std::string>();
  // Token 1000 everywhere: four copies of one piece, unlike the unbiased text.
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.size() % 4, 0u) << text;
  const std::string piece = text.substr(0, text.size() / 4);
  EXPECT_EQ(text, piece + piece + piece + piece);
  EXPECT_NE(text, plain.body["choices"][0]["text"].get<std::string>());
}

}  // namespace
}  // namespace cohost::testing
