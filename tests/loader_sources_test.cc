// Loader integration tests: real runners loading a real GGUF through the streaming loader from a
// local file, a Range-capable HTTP server and a real S3-compatible server (s3rver, which checks
// the access key id), and every bad input the loader must name clearly.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "support/harness.h"
#include "support/loader_range_server.h"

namespace cohost::testing {
namespace {

namespace fs = std::filesystem;

json Completion() {
  return {{"prompt", "The loader streams"}, {"max_tokens", 8}, {"temperature", 0}, {"ignore_eos", true}};
}

// The completion text of a runner started on `model` with `args`, and its log.
std::pair<std::string, std::string> Complete(const std::string& model, std::vector<std::string> args) {
  auto r = Runner::Start(model, std::move(args));
  if (!r) return {"<no runner>", ""};
  auto c = r->Client();
  JsonResponse resp = PostJson(c, "/v1/completions", Completion());
  EXPECT_EQ(resp.status, 200) << resp.raw;
  return {resp.body["choices"][0].value("text", "<none>"), r->Log()};
}

const std::string& FileText() {
  static std::string text = Complete(SmallModel(), {"--load-mode", "mmap"}).first;
  return text;
}

// Copies the shared small model into `dir` as `name` (optionally packed) and returns the path.
std::string CopyModel(const TempDir& dir, const std::string& name, bool pack) {
  std::string p = dir.File(name);
  fs::copy_file(SmallModel(), p, fs::copy_options::overwrite_existing);
  if (pack) {
    ExitResult r = RunCohost({"pack", p, "--chunk-mib", "1"});
    EXPECT_EQ(r.status, 0) << r.output;
  }
  return p;
}

// Runs a runner expected to fail loading; returns its output.
std::string FailingLoad(const std::string& model, std::vector<std::string> extra) {
  std::vector<std::string> args{"runner", "--model", model, "--port", "0", "--threads", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  ExitResult r = RunCohost(args, std::chrono::seconds(60));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(r.output.find("msg=listening"), std::string::npos) << r.output;
  return r.output;
}

TEST(LoaderSourcesTest, StreamFromLocalFileMatchesMmap) {
  TempDir dir;
  std::string p = CopyModel(dir, "m.gguf", /*pack=*/true);
  auto [text, log] = Complete(p, {"--load-mode", "stream", "--load-chunk-mib", "1", "--load-concurrency", "3"});
  EXPECT_EQ(text, FileText());
  EXPECT_NE(log.find("mode=stream"), std::string::npos) << log;
  EXPECT_NE(log.find("verified=yes"), std::string::npos) << log;
  EXPECT_EQ(log.find("params=0 "), std::string::npos) << log;  // counted from the file's tensors
}

TEST(LoaderSourcesTest, HttpLoadMatchesFileLoadAndIsUnverifiedWithoutManifest) {
  TempDir dir;
  CopyModel(dir, "m.gguf", /*pack=*/false);
  RangeServer server(dir.path());
  auto [text, log] = Complete(server.Url("m.gguf"), {"--load-chunk-mib", "1"});
  EXPECT_EQ(text, FileText());
  EXPECT_NE(log.find("loading unverified"), std::string::npos) << log;
  EXPECT_GT(server.range_requests(), 4);  // header blocks + several 1 MiB chunks
}

TEST(LoaderSourcesTest, HttpConcurrentLoadsOfOneArtifactShareTheDiskCache) {
  TempDir dir, cache;
  CopyModel(dir, "m.gguf", /*pack=*/true);
  RangeServer server(dir.path());
  const std::vector<std::string> args{"--load-chunk-mib", "1", "--cache-dir", cache.path()};
  std::unique_ptr<Runner> a, b;
  std::thread ta([&] { a = Runner::Start(server.Url("m.gguf"), args); });
  std::thread tb([&] { b = Runner::Start(server.Url("m.gguf"), args); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a && b);
  int cached = 0, from_cache = 0;
  for (Runner* r : {a.get(), b.get()}) {
    auto c = r->Client();
    JsonResponse resp = PostJson(c, "/v1/completions", Completion());
    ASSERT_EQ(resp.status, 200) << resp.raw;
    EXPECT_EQ(resp.body["choices"][0].value("text", ""), FileText());
    EXPECT_NE(r->Log().find("verified=yes"), std::string::npos) << r->Log();
    cached += r->Log().find("cached=yes") != std::string::npos;
    from_cache += r->Log().find("from_cache=yes") != std::string::npos;
  }
  EXPECT_EQ(cached, 1);  // one downloaded while the other waited on the entry's lock
  EXPECT_EQ(from_cache, 1);
}

TEST(LoaderSourcesTest, DiskCacheServesTheNextLoadWithoutTheServer) {
  TempDir dir, cache;
  std::string p = CopyModel(dir, "m.gguf", /*pack=*/true);
  std::string url;
  {
    RangeServer server(dir.path());
    url = server.Url("m.gguf");
    auto [text, log] = Complete(url, {"--cache-dir", cache.path()});
    EXPECT_EQ(text, FileText());
    EXPECT_NE(log.find("cached=yes"), std::string::npos) << log;
  }
  int entries = 0;
  for (const auto& e : fs::directory_iterator(cache.path())) {
    if (e.path().extension() != ".gguf") continue;
    ++entries;
    EXPECT_EQ(ReadFile(e.path().string()), ReadFile(p));  // a complete, identical copy
  }
  EXPECT_EQ(entries, 1);
  // The server is gone: the second load can only come from the cache (verified by its manifest).
  auto [text, log] = Complete(url, {"--cache-dir", cache.path()});
  EXPECT_EQ(text, FileText());
  EXPECT_NE(log.find("from_cache=yes"), std::string::npos) << log;
  EXPECT_NE(log.find("verified=yes"), std::string::npos) << log;
}

TEST(LoaderSourcesTest, ArtifactLargerThanTheCacheLoadsUncached) {
  TempDir dir, cache;
  CopyModel(dir, "m.gguf", false);
  RangeServer server(dir.path());
  auto [text, log] = Complete(server.Url("m.gguf"), {"--cache-dir", cache.path(), "--cache-max-gib", "0.001"});
  EXPECT_EQ(text, FileText());
  EXPECT_NE(log.find("exceeds the disk cache bound"), std::string::npos) << log;
  EXPECT_NE(log.find("cached=no"), std::string::npos) << log;
}

TEST(LoaderSourcesTest, HttpErrorsAreNamed) {
  TempDir dir;
  CopyModel(dir, "m.gguf", false);
  RangeServer server(dir.path());
  EXPECT_NE(FailingLoad(server.Url("missing.gguf"), {}).find("HTTP 404"), std::string::npos);
  EXPECT_NE(FailingLoad(server.Url("forbidden/m.gguf"), {}).find("access denied (HTTP 403)"), std::string::npos);
  auto t0 = std::chrono::steady_clock::now();
  std::string stall = FailingLoad(server.Url("stall/m.gguf"), {"--load-stall-timeout-s", "1"});
  EXPECT_NE(stall.find("stalled"), std::string::npos) << stall;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
}

TEST(LoaderSourcesTest, TruncatedFileIsNamed) {
  TempDir dir;
  std::string p = CopyModel(dir, "m.gguf", false);
  fs::resize_file(p, fs::file_size(p) - 1000);
  std::string out = FailingLoad(p, {"--load-mode", "stream"});
  EXPECT_NE(out.find("truncated"), std::string::npos) << out;
}

TEST(LoaderSourcesTest, CorruptChunkFailsAgainstManifestNamingTheChunk) {
  TempDir dir;
  std::string p = CopyModel(dir, "m.gguf", /*pack=*/true);
  const uint64_t at = fs::file_size(p) - 100;  // inside the last tensor
  {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(at));
    f.write(&c, 1);
  }
  RangeServer server(dir.path());
  std::string out = FailingLoad(server.Url("m.gguf"), {"--load-chunk-mib", "1"});
  const std::string last_chunk = std::to_string(at / (1 << 20));
  EXPECT_NE(out.find("checksum mismatch in chunk " + last_chunk), std::string::npos) << out;
  EXPECT_NE(out.find("failed after 3 attempts"), std::string::npos) << out;
}

TEST(LoaderSourcesTest, ManifestOfAnotherFileIsRejected) {
  TempDir dir;
  std::string p = CopyModel(dir, "m.gguf", /*pack=*/true);
  fs::resize_file(p, fs::file_size(p) + 4096);  // the manifest no longer describes this file
  std::string out = FailingLoad(p, {"--load-mode", "stream"});
  EXPECT_NE(out.find("manifest does not match"), std::string::npos) << out;
}

// --- S3 (s3rver on loopback) ---

class S3Server {
 public:
  S3Server() {
    fs::path repo = fs::path(COHOST_BINARY).parent_path().parent_path().parent_path();
    std::string script = (repo / "scripts/s3rver.sh").string();
    log_ = dir_.File("s3rver.log");
    auto p = sys::Process::Spawn({{"/bin/bash", script, dir_.File("data"), "0", "models"}, log_});
    if (!p.ok()) {
      ADD_FAILURE() << p.status().ToString();
      return;
    }
    process_ = std::make_unique<sys::Process>(std::move(*p));
    static const std::regex kListening(R"(listening on 127\.0\.0\.1:(\d+))");
    bool up = WaitUntil([&] {
      std::smatch m;
      std::string text = ReadFile(log_);
      if (std::regex_search(text, m, kListening)) {
        port_ = std::stoi(m[1]);
        return true;
      }
      return process_->TryWait().has_value();
    }, std::chrono::seconds(120));
    if (!up || port_ == 0) ADD_FAILURE() << "s3rver did not start:\n" << ReadFile(log_);
    setenv("AWS_ENDPOINT_URL", ("http://127.0.0.1:" + std::to_string(port_)).c_str(), 1);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    setenv("AWS_REGION", "us-east-1", 1);
  }
  ~S3Server() {
    if (process_) process_->Signal(SIGTERM);
  }
  bool up() const { return port_ != 0; }

 private:
  TempDir dir_;
  std::string log_;
  std::unique_ptr<sys::Process> process_;
  int port_ = 0;
};

TEST(LoaderS3Test, PushThenLoadMatchesFileLoadVerified) {
  S3Server s3;
  ASSERT_TRUE(s3.up());
  TempDir dir;
  std::string p = CopyModel(dir, "m.gguf", false);
  ExitResult push = RunCohost({"push", p, "s3://models/dir/m.gguf", "--chunk-mib", "1"});
  ASSERT_EQ(push.status, 0) << push.output;
  auto [text, log] = Complete("s3://models/dir/m.gguf", {"--load-chunk-mib", "1"});
  EXPECT_EQ(text, FileText());
  EXPECT_NE(log.find("verified=yes"), std::string::npos) << log;

  // An unknown access key: s3rver checks the key id (not the signature value, which
  // SigV4Test checks against AWS's published example instead).
  setenv("AWS_ACCESS_KEY_ID", "NOPE", 1);
  std::string denied = FailingLoad("s3://models/dir/m.gguf", {});
  setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
  EXPECT_NE(denied.find("access denied (HTTP 403)"), std::string::npos) << denied;
  EXPECT_NE(FailingLoad("s3://models/nope.gguf", {}).find("HTTP 404"), std::string::npos);
}

}  // namespace
}  // namespace cohost::testing
