#include "embedded/embedded_files.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace cohost::embedded {
namespace {

std::string ReadAll(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The build embeds the files as they are now: a change to them reaches the binary.
TEST(EmbeddedFiles, HoldExactlyTheFilesTheBuildEmbedded) {
  const std::string catalog = ReadAll(COHOST_SOURCE_CATALOG);
  ASSERT_FALSE(catalog.empty()) << COHOST_SOURCE_CATALOG;
  EXPECT_EQ(DeviceCatalogYaml(), catalog);
  const std::string vocab = ReadAll(COHOST_SOURCE_VOCAB);
  ASSERT_FALSE(vocab.empty()) << COHOST_SOURCE_VOCAB;
  EXPECT_EQ(LlamaSpmVocabGguf().size(), vocab.size());
  EXPECT_TRUE(LlamaSpmVocabGguf() == vocab);
}

TEST(EmbeddedFiles, TheVocabularyIsAGgufFile) {
  ASSERT_GE(LlamaSpmVocabGguf().size(), 4u);
  EXPECT_EQ(LlamaSpmVocabGguf().substr(0, 4), "GGUF");
}

}  // namespace
}  // namespace cohost::embedded
