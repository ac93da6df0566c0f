#include "loader/stream_loader.h"

#include <gtest/gtest.h>
#include <llama.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/llama_runtime.h"
#include "engine/synthetic_model.h"
#include "loader/file_source.h"
#include "loader/manifest.h"

namespace cohost::loader {
namespace {

namespace fs = std::filesystem;

class StreamLoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine::InitLlamaRuntime(false);
    dir_ = new fs::path(fs::temp_directory_path() / ("stream_loader_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    engine::SyntheticModelOptions o;
    o.shape.n_embd = 64;
    o.shape.n_layer = 1;
    o.shape.n_head = 4;
    o.shape.n_head_kv = 4;
    o.shape.n_ff = 128;
    o.shape.n_ctx_train = 256;
    o.weight_type = engine::WeightType::kQ8_0;
    o.vocab_path = engine::DefaultVocabPath();
    ASSERT_TRUE(engine::WriteSyntheticModel(o, Path()).ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string Path() { return (*dir_ / "m.gguf").string(); }
  static fs::path* dir_;
};
fs::path* StreamLoaderTest::dir_ = nullptr;

// Logits of one token at position 0: equal logits mean equal weights where it matters.
std::vector<float> Logits(llama_model* m) {
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = 16;
  cp.n_threads = 1;
  llama_context* ctx = llama_init_from_model(m, cp);
  llama_token tok = 5;
  llama_batch b = llama_batch_get_one(&tok, 1);
  EXPECT_EQ(llama_decode(ctx, b), 0);
  const float* l = llama_get_logits_ith(ctx, -1);
  std::vector<float> out(l, l + llama_vocab_n_tokens(llama_model_get_vocab(m)));
  llama_free(ctx);
  return out;
}

TEST_F(StreamLoaderTest, StreamedModelComputesTheSameLogitsAsLlamaLoad) {
  auto src = FileSource::Open(Path());
  ASSERT_TRUE(src.ok());
  auto manifest = Manifest::Build(**src, 64 << 10, 2);
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  StreamOptions o;
  o.chunk_bytes = 64 << 10;
  o.concurrency = 3;
  o.manifest = &*manifest;
  int reports = 0;
  LoadProgress last;
  o.on_progress = [&](const LoadProgress& p) { ++reports; last = p; };
  StreamStats stats;
  auto streamed = StreamModel(**src, llama_model_default_params(), o, &stats);
  ASSERT_TRUE(streamed.ok()) << streamed.status().ToString();
  EXPECT_GT(stats.chunks, 3u);
  EXPECT_GT(stats.n_params, 0u);
  EXPECT_GE(reports, 1);
  EXPECT_EQ(last.bytes_done, last.bytes_total);

  llama_model_params p = llama_model_default_params();
  p.load_mode = LLAMA_LOAD_MODE_NONE;
  llama_model* loaded = llama_model_load_from_file(Path().c_str(), p);
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(stats.n_params, llama_model_n_params(loaded));
  std::vector<float> a = Logits(*streamed), b = Logits(loaded);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "logit " << i;
  llama_model_free(*streamed);
  llama_model_free(loaded);
}

TEST_F(StreamLoaderTest, ManifestRoundTripsAndNamesABadChunk) {
  auto src = FileSource::Open(Path());
  ASSERT_TRUE(src.ok());
  auto m = Manifest::Build(**src, 64 << 10, 2);
  ASSERT_TRUE(m.ok());
  auto parsed = Manifest::Parse(m->ToJson(), "test");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->n_chunks(), m->n_chunks());
  EXPECT_EQ(parsed->chunk_sha256(1), m->chunk_sha256(1));
  EXPECT_EQ(parsed->tensors().size(), m->tensors().size());
  std::vector<char> chunk(m->chunk_size(1));
  ASSERT_TRUE((*src)->ReadAt(m->chunk_offset(1), chunk.data(), chunk.size()).ok());
  EXPECT_TRUE(m->VerifyChunk(1, chunk.data(), chunk.size(), "m").ok());
  chunk[10] ^= 1;
  Status bad = m->VerifyChunk(1, chunk.data(), chunk.size(), "m");
  EXPECT_EQ(bad.code(), StatusCode::kDataLoss);
  EXPECT_NE(bad.message().find("chunk 1 (bytes 65536-131072)"), std::string::npos) << bad.message();
  EXPECT_FALSE(Manifest::Parse("{\"format\":\"x\"}", "t").ok());
  EXPECT_FALSE(Manifest::Parse("not json", "t").ok());
}

// The real file as read, with the byte at `at` flipped: a local file corrupted in one place.
class FlippedByteSource : public ByteSource {
 public:
  FlippedByteSource(const ByteSource& inner, uint64_t at) : inner_(inner), at_(at) {}
  uint64_t size() const override { return inner_.size(); }
  Status ReadAt(uint64_t offset, void* dst, size_t len) const override {
    RETURN_IF_ERROR(inner_.ReadAt(offset, dst, len));
    if (at_ >= offset && at_ < offset + len) static_cast<char*>(dst)[at_ - offset] ^= 0x5a;
    return Status::Ok();
  }
  const std::string& uri() const override { return inner_.uri(); }
  bool small_reads_are_cheap() const override { return inner_.small_reads_are_cheap(); }

 private:
  const ByteSource& inner_;
  const uint64_t at_;
};

// A local chunk that spans several tensors is read piece by piece straight into them; its
// checksum must still cover every piece.
TEST_F(StreamLoaderTest, LocalChunkSpanningTensorsIsVerifiedAcrossItsPieces) {
  auto src = FileSource::Open(Path());
  ASSERT_TRUE(src.ok());
  auto m = Manifest::Build(**src, 64 << 10, 2);
  ASSERT_TRUE(m.ok());
  // A tensor that starts inside a chunk another tensor ends in; corrupt its first byte.
  uint64_t at = 0;
  size_t chunk = 0;
  const auto& ts = m->tensors();
  for (size_t i = 1; i < ts.size() && at == 0; ++i) {
    if (ts[i].first_chunk == ts[i - 1].last_chunk && ts[i].size > 0) {
      at = ts[i].offset;
      chunk = ts[i].first_chunk;
    }
  }
  ASSERT_NE(at, 0u) << "no chunk spans two tensors";
  FlippedByteSource bad_src(**src, at);
  StreamOptions o;
  o.manifest = &*m;
  o.concurrency = 2;
  o.retries = 0;
  auto r = StreamModel(bad_src, llama_model_default_params(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("checksum mismatch in chunk " + std::to_string(chunk) + " "), std::string::npos)
      << r.status().message();
}

TEST_F(StreamLoaderTest, TruncatedAndNonGgufFilesAreNamed) {
  std::string cut = (*dir_ / "cut.gguf").string();
  fs::copy_file(Path(), cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(cut) - 100);
  auto src = FileSource::Open(cut);
  ASSERT_TRUE(src.ok());
  auto r = StreamModel(**src, llama_model_default_params(), StreamOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().message();

  std::string junk = (*dir_ / "junk.gguf").string();
  std::ofstream(junk) << "definitely not a model";
  auto j = FileSource::Open(junk);
  ASSERT_TRUE(j.ok());
  auto jr = StreamModel(**j, llama_model_default_params(), StreamOptions{});
  EXPECT_NE(jr.status().message().find("bad magic"), std::string::npos);
}

TEST(StreamOptionsTest, BadOptionsNameTheField) {
  StreamOptions o;
  o.chunk_bytes = 0;
  EXPECT_EQ(ValidateStreamOptions(o).field(), "chunk_bytes");
  o = StreamOptions{};
  o.concurrency = 0;
  EXPECT_EQ(ValidateStreamOptions(o).field(), "concurrency");
  EXPECT_TRUE(ValidateStreamOptions(StreamOptions{}).ok());
}

}  // namespace
}  // namespace cohost::loader
