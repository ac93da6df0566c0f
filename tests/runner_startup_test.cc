// Starting a runner: bad model files fail fast and clearly (nothing listens); a Unix socket
// works; make-model is deterministic and its files load in llama.cpp's own tools.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/harness.h"

namespace cohost::testing {
namespace {

void ExpectRunnerRefuses(const std::string& model, const std::string& message,
                         std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"runner", "--model", model, "--port", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  ExitResult r = RunCohost(args);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, -1) << "runner did not exit";
  EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("msg=listening"), std::string::npos) << r.output;
}

TEST(RunnerStartupTest, MissingModelFile) {
  ExpectRunnerRefuses("/nonexistent/model.gguf", "model file not found");
}

TEST(RunnerStartupTest, NotAGgufFile) {
  TempDir dir;
  std::ofstream(dir.File("notes.gguf")) << "this is not a model\n";
  ExpectRunnerRefuses(dir.File("notes.gguf"), "not a GGUF file");
}

TEST(RunnerStartupTest, TruncatedModelFile) {
  TempDir dir;
  std::string cut = dir.File("cut.gguf");
  std::filesystem::copy_file(SmallModel(), cut);
  std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
  ExpectRunnerRefuses(cut, "truncated");
}

TEST(RunnerStartupTest, AMemoryLimitBelowTheNeedIsRefusedBeforeListening) {
  ExpectRunnerRefuses(SmallModel(), "but its limit is 8 MiB", {"--memory-limit-mib", "8"});
}

TEST(RunnerStartupTest, ServesOnAUnixSocket) {
  TempDir dir;
  std::string sock = dir.File("runner.sock");
  auto p = sys::Process::Spawn({{COHOST_BINARY, "runner", "--model", SmallModel(), "--socket", sock},
                                dir.File("log")});
  ASSERT_TRUE(p.ok());
  net::Address a;
  a.unix_socket = sock;
  ASSERT_TRUE(WaitUntil([&] {
    net::HttpClient c(a, std::chrono::seconds(2));
    auto r = c.Send("GET", "/healthz");
    return r.ok() && r->status == 200;
  })) << ReadFile(dir.File("log"));
  net::HttpClient c(a);
  JsonResponse r = PostJson(c, "/v1/completions", json({{"prompt", "hi"}, {"max_tokens", 3}, {"ignore_eos", true}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["usage"]["completion_tokens"], 3);
  p->Signal(SIGTERM);
  EXPECT_EQ(p->WaitFor(std::chrono::seconds(10)), 0);
}

TEST(MakeModelTest, SameSeedSameBytesAndShapesAsAsked) {
  TempDir dir;
  std::vector<std::string> args{"--n-embd", "64", "--n-layer", "2", "--n-head", "4", "--n-head-kv", "2",
                                "--n-ff", "128", "--type", "q8_0", "--seed", "5"};
  MakeModel(dir.File("a.gguf"), args);
  MakeModel(dir.File("b.gguf"), args);
  EXPECT_EQ(ReadFile(dir.File("a.gguf")), ReadFile(dir.File("b.gguf")));
  args.back() = "6";
  MakeModel(dir.File("c.gguf"), args);
  EXPECT_NE(ReadFile(dir.File("a.gguf")), ReadFile(dir.File("c.gguf")));
  ExitResult bad = RunCohost({"make-model", "--output", dir.File("d.gguf"), "--type", "q3"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("type"), std::string::npos) << bad.output;
}

TEST(MakeModelTest, LoadsInLlamaCppsOwnTools) {
  TempDir dir;
  for (const char* type : {"f32", "f16", "q8_0"}) {
    SCOPED_TRACE(type);
    std::string model = dir.File(std::string(type) + ".gguf");
    MakeModel(model, {"--params", "20M", "--type", type});
    auto p = sys::Process::Spawn({{std::string(COHOST_LLAMA_BIN) + "/llama-simple", "-m", model,
                                   "-n", "4", "Hello"},
                                  dir.File("simple.log")});
    ASSERT_TRUE(p.ok());
    auto st = p->WaitFor(std::chrono::seconds(60));
    EXPECT_EQ(st, 0) << ReadFile(dir.File("simple.log"));
  }
}

}  // namespace
}  // namespace cohost::testing
