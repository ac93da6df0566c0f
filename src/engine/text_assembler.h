// TextAssembler: turns the byte pieces of generated tokens into text that is safe to send.
//
// It holds back (a) a trailing incomplete UTF-8 sequence, since a token may end mid-character,
// and (b) a trailing run that could still grow into one of the stop strings. When a stop string
// appears, the text before it is released and the assembler reports that it stopped.
// Pure: no I/O, no llama.cpp. Thread safety: none; one per sequence.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cohost::engine {

class TextAssembler {
 public:
  explicit TextAssembler(std::vector<std::string> stop_strings = {});

  // Appends a token's bytes and returns the text now safe to release (possibly empty).
  // After a stop string is found, returns the text before it and stopped() becomes true;
  // later calls return nothing.
  std::string Push(std::string_view piece);

  // Returns whatever is still held back (at the end of generation). Incomplete UTF-8 at the very
  // end is dropped rather than sent as invalid bytes.
  std::string Flush();

  bool stopped() const { return stopped_; }

  // Length of the longest prefix of `s` that is valid, complete UTF-8 up to a trailing
  // incomplete sequence. Exposed for tests.
  static size_t CompleteUtf8Prefix(std::string_view s);

 private:
  // Bytes at the end of pending_ that could be the start of a stop string.
  size_t PartialStopSuffix() const;

  std::vector<std::string> stops_;
  std::string pending_;  // bytes received but not yet released
  bool stopped_ = false;
};

}  // namespace cohost::engine
