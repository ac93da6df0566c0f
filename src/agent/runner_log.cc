#include "agent/runner_log.h"

#include <cstdlib>

namespace cohost::agent {
namespace {

// Reads a quoted value starting after the opening quote; advances `i` past the closing quote.
std::string ReadQuoted(std::string_view s, size_t& i) {
  std::string out;
  while (i < s.size() && s[i] != '"') {
    char c = s[i++];
    if (c != '\\' || i >= s.size()) {
      out += c;
      continue;
    }
    char e = s[i++];
    switch (e) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'x':
        if (i + 2 <= s.size()) {
          out += static_cast<char>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16));
          i += 2;
        }
        break;
      default: out += e;  // \" and \\ (and anything unknown, verbatim)
    }
  }
  if (i < s.size()) ++i;  // the closing quote
  return out;
}

// Calls `f` with each line of `text` (without its newline), in order.
template <typename F>
void ForEachLine(std::string_view text, F f) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    f(text.substr(pos, end - pos));
    pos = end + 1;
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ParseLogfmt(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '=') ++i;
    if (i >= s.size() || s[i] != '=') continue;  // a bare word: skip it
    std::string key(s.substr(start, i - start));
    ++i;
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      value = ReadQuoted(s, i);
    } else {
      size_t v = i;
      while (i < s.size() && s[i] != ' ') ++i;
      value = std::string(s.substr(v, i - v));
    }
    if (!key.empty()) out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

std::optional<std::string> LastErrorInLog(std::string_view text) {
  std::optional<std::string> found;
  ForEachLine(text, [&](std::string_view line) {
    size_t at = line.find("level=error");
    if (at == std::string_view::npos) return;
    size_t after = at + std::string_view("level=error").size();
    if ((at > 0 && line[at - 1] != ' ') || (after < line.size() && line[after] != ' ')) return;
    std::string msg, error, rest;
    for (auto& [k, v] : ParseLogfmt(line.substr(at))) {
      if (k == "msg") {
        msg = v;
      } else if (k == "error") {
        error = v;
      } else if (k != "level" && k != "component" && k != "ts") {
        rest += (rest.empty() ? "" : " ") + k + "=" + v;
      }
    }
    std::string m = msg;
    if (!error.empty()) m += (m.empty() ? "" : ": ") + error;
    if (!rest.empty()) m += (m.empty() ? "" : " ") + std::string("(") + rest + ")";
    found = m.empty() ? std::string(line) : m;
  });
  return found;
}

std::optional<LoadProgress> LastLoadProgressInLog(std::string_view text) {
  std::optional<LoadProgress> found;
  ForEachLine(text, [&](std::string_view line) {
    if (line.find("msg=\"load progress\"") == std::string_view::npos) return;
    LoadProgress p;
    for (auto& [k, v] : ParseLogfmt(line)) {
      if (k == "bytes") p.bytes = std::strtoll(v.c_str(), nullptr, 10);
      if (k == "total") p.total = std::strtoll(v.c_str(), nullptr, 10);
      if (k == "mib_per_s") p.mib_per_s = std::strtoll(v.c_str(), nullptr, 10);
      if (k == "eta_s") p.eta_s = std::strtod(v.c_str(), nullptr);
    }
    if (p.total > 0) found = p;
  });
  return found;
}

std::string DescribeLoadProgress(const LoadProgress& p) {
  auto mib = [](int64_t b) { return std::to_string((b + (1 << 20) - 1) >> 20); };
  int64_t percent = p.total > 0 ? p.bytes * 100 / p.total : 0;
  return "loaded " + mib(p.bytes) + " of " + mib(p.total) + " MiB (" + std::to_string(percent) + "%), " +
         std::to_string(p.mib_per_s) + " MiB/s, about " + std::to_string(static_cast<int64_t>(p.eta_s + 0.5)) +
         " s left";
}

}  // namespace cohost::agent
