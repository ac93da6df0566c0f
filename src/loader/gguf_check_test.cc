#include "loader/gguf_check.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/llama_runtime.h"
#include "engine/model.h"
#include "engine/synthetic_model.h"

namespace cohost::loader {
namespace {

class GgufCheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine::InitLlamaRuntime(false);
    dir_ = new std::string(std::filesystem::temp_directory_path() / ("gguf_check_" + std::to_string(::getpid())));
    std::filesystem::create_directories(*dir_);
    engine::SyntheticModelOptions o;
    o.vocab_path = engine::DefaultVocabPath();
    o.shape.n_embd = 64;
    o.shape.n_layer = 2;
    o.shape.n_head = 2;
    o.shape.n_head_kv = 2;
    o.shape.n_ff = 128;
    o.shape.n_ctx_train = 256;
    ASSERT_TRUE(engine::WriteSyntheticModel(o, *dir_ + "/good.gguf").ok());
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  // A copy of the good model with the uint32 value of `key` set to `value`.
  static std::string Patched(const std::string& key, uint32_t value) {
    std::ifstream in(*dir_ + "/good.gguf", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string bytes = ss.str();
    size_t at = bytes.find(key);
    EXPECT_NE(at, std::string::npos);
    std::memcpy(bytes.data() + at + key.size() + 4, &value, 4);
    const std::string out = *dir_ + "/patched.gguf";
    std::ofstream(out, std::ios::binary) << bytes;
    return out;
  }
  static std::string* dir_;
};
std::string* GgufCheckTest::dir_ = nullptr;

TEST_F(GgufCheckTest, GoodModelPassesAndGivesItsShape) {
  StatusOr<GgufShape> s = CheckGgufFileHeader(*dir_ + "/good.gguf");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->arch, "llama");
  EXPECT_EQ(s->n_layer, 2);
  EXPECT_EQ(s->n_ctx_train, 256);
  EXPECT_EQ(s->KvBytesPerToken(), 2 * 2 * 2 * (32 + 32));
}

TEST_F(GgufCheckTest, ImpossibleHyperParametersAreRefusedNamingTheKey) {
  struct Case {
    const char* key;
    uint32_t value;
    const char* says;
  };
  for (const Case& c : {Case{"llama.block_count", 0, "llama.block_count is 0; allowed: 1 to 512"},
                        Case{"llama.block_count", 0xFFFFFFFF, "llama.block_count is 4294967295"},
                        Case{"llama.embedding_length", 0, "llama.embedding_length is 0"},
                        Case{"llama.context_length", 0, "llama.context_length is 0"},
                        Case{"llama.attention.head_count_kv", 3, "head_count"}}) {
    SCOPED_TRACE(c.key);
    const std::string path = Patched(c.key, c.value);
    StatusOr<GgufShape> s = CheckGgufFileHeader(path);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find(c.says), std::string::npos) << s.status().message();
    // Model::Load refuses it the same way instead of aborting inside llama.cpp.
    auto m = engine::Model::Load({path, 0, true});
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().message().find(c.key), std::string::npos) << m.status().message();
  }
}

TEST_F(GgufCheckTest, NonRegularFilesAreRefusedWithoutReading) {
  StatusOr<GgufShape> zero = CheckGgufFileHeader("/dev/zero");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(zero.status().message().find("not a regular file"), std::string::npos);
  StatusOr<GgufShape> dir = CheckGgufFileHeader(*dir_);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("is a directory"), std::string::npos);
  EXPECT_EQ(CheckGgufFileHeader(*dir_ + "/none.gguf").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cohost::loader
