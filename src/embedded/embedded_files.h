// Files shipped inside the cohost executable, so that a copied or installed binary needs nothing
// from the source tree, llama.cpp's tree or a cache at run time ("one file serves everything").
//
// The bytes are assembled into the binary by the build (`.incbin` in a generated assembler file,
// embedded_files.S.in); no path to the original files is compiled in. Each function returns a view
// of read-only memory that lives as long as the process.
// Thread safety: any thread.
#pragma once

#include <string_view>

namespace cohost::embedded {

// data/devices.yaml: the device catalog `cohost profile` projects onto (profile/device_catalog.h).
std::string_view DeviceCatalogYaml();

// llama.cpp's models/ggml-vocab-llama-spm.gguf: a vocab-only GGUF (llama SentencePiece tokenizer,
// 32000 tokens), the default vocabulary of `cohost make-model` and of the demo models.
std::string_view LlamaSpmVocabGguf();

}  // namespace cohost::embedded
