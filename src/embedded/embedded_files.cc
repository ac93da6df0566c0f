#include "embedded/embedded_files.h"

// Defined in the assembler file generated from embedded_files.S.in: each file's first byte and
// the byte after its last.
extern "C" {
extern const char cohost_embedded_devices_yaml[];
extern const char cohost_embedded_devices_yaml_end[];
extern const char cohost_embedded_llama_spm_vocab[];
extern const char cohost_embedded_llama_spm_vocab_end[];
}

namespace cohost::embedded {
namespace {

std::string_view Between(const char* begin, const char* end) {
  return std::string_view(begin, static_cast<size_t>(end - begin));
}

}  // namespace

std::string_view DeviceCatalogYaml() {
  return Between(cohost_embedded_devices_yaml, cohost_embedded_devices_yaml_end);
}

std::string_view LlamaSpmVocabGguf() {
  return Between(cohost_embedded_llama_spm_vocab, cohost_embedded_llama_spm_vocab_end);
}

}  // namespace cohost::embedded
