#include "engine/text_assembler.h"

#include <algorithm>

namespace cohost::engine {

TextAssembler::TextAssembler(std::vector<std::string> stop_strings)
    : stops_(std::move(stop_strings)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

size_t TextAssembler::CompleteUtf8Prefix(std::string_view s) {
  // Look at most 3 bytes back for the lead byte of a sequence that is not yet complete.
  size_t n = s.size();
  for (size_t back = 1; back <= std::min<size_t>(4, n); ++back) {
    unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte; keep looking for the lead
    size_t need = 1;
    if ((c & 0xE0) == 0xC0) need = 2;
    else if ((c & 0xF0) == 0xE0) need = 3;
    else if ((c & 0xF8) == 0xF0) need = 4;
    return back < need ? n - back : n;
  }
  return n;
}

size_t TextAssembler::PartialStopSuffix() const {
  size_t best = 0;
  for (const std::string& stop : stops_) {
    // The longest suffix of pending_ that is a proper prefix of stop.
    size_t max_len = std::min(pending_.size(), stop.size() - 1);
    for (size_t len = max_len; len > best; --len) {
      if (pending_.compare(pending_.size() - len, len, stop, 0, len) == 0) {
        best = len;
        break;
      }
    }
  }
  return best;
}

std::string TextAssembler::Push(std::string_view piece) {
  if (stopped_) return {};
  pending_.append(piece);

  size_t stop_at = std::string::npos;
  for (const std::string& stop : stops_) {
    size_t pos = pending_.find(stop);
    if (pos != std::string::npos) stop_at = std::min(stop_at, pos);
  }
  if (stop_at != std::string::npos) {
    stopped_ = true;
    std::string out = pending_.substr(0, stop_at);
    pending_.clear();
    return out;
  }

  size_t releasable = pending_.size() - PartialStopSuffix();
  releasable = CompleteUtf8Prefix(std::string_view(pending_).substr(0, releasable));
  std::string out = pending_.substr(0, releasable);
  pending_.erase(0, releasable);
  return out;
}

std::string TextAssembler::Flush() {
  if (stopped_) return {};
  std::string out = pending_.substr(0, CompleteUtf8Prefix(pending_));
  pending_.clear();
  return out;
}

}  // namespace cohost::engine
