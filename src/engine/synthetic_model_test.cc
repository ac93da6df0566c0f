#include "engine/synthetic_model.h"

#include <gguf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "engine/llama_runtime.h"

namespace cohost::engine {
namespace {

class SyntheticModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitLlamaRuntime(false);
    dir_ = std::filesystem::temp_directory_path() / ("cohost-synth-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  SyntheticModelOptions Tiny() const {
    SyntheticModelOptions o;
    o.shape.n_embd = 64;
    o.shape.n_layer = 1;
    o.shape.n_head = 2;
    o.shape.n_head_kv = 2;
    o.shape.n_ff = 128;
    o.shape.n_ctx_train = 128;
    return o;
  }

  std::filesystem::path dir_;
};

// The default vocabulary is the one built into the executable: no file is needed.
TEST_F(SyntheticModelTest, TheDefaultVocabularyIsBuiltIn) {
  EXPECT_EQ(DefaultVocabPath(), kBuiltinVocab);
  SyntheticModelOptions o = Tiny();
  o.vocab_path = DefaultVocabPath();
  const std::string out = (dir_ / "m.gguf").string();
  ASSERT_TRUE(WriteSyntheticModel(o, out).ok());
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
  gguf_context* g = gguf_init_from_file(out.c_str(), params);
  ASSERT_NE(g, nullptr);
  const int64_t tokens = gguf_find_key(g, "tokenizer.ggml.tokens");
  ASSERT_GE(tokens, 0);
  EXPECT_EQ(gguf_get_arr_n(g, tokens), 32000u);
  const int64_t model = gguf_find_key(g, "tokenizer.ggml.model");
  ASSERT_GE(model, 0);
  EXPECT_STREQ(gguf_get_val_str(g, model), "llama");
  gguf_free(g);
}

TEST_F(SyntheticModelTest, AMissingVocabularyFileIsNotFound) {
  SyntheticModelOptions o = Tiny();
  o.vocab_path = (dir_ / "absent.gguf").string();
  Status st = WriteSyntheticModel(o, (dir_ / "m.gguf").string());
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("absent.gguf"), std::string::npos);
  o.vocab_path.clear();
  EXPECT_EQ(WriteSyntheticModel(o, (dir_ / "m.gguf").string()).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cohost::engine
