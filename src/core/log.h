// Structured logging: one logfmt line per event ("ts=... level=info msg=listening port=8080").
//
// Quiet by default: info and above. Fields are key/value pairs; values with spaces are quoted.
// Thread safety: all functions may be called from any thread.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace cohost::log {

enum class Level { kDebug, kInfo, kWarn, kError };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  template <typename N, typename = std::enable_if_t<std::is_arithmetic_v<N>>>
  Field(std::string_view k, N v) : key(k), value(std::to_string(v)) {}
  std::string key;
  std::string value;
};

// Sets the lowest level written (default kInfo). Call from main() before threads start.
void SetLevel(Level level);
bool Enabled(Level level);
// Names the process in every line (component=runner). Call from main() before threads start.
void SetComponent(std::string_view name);

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
inline void Debug(std::string_view msg, std::initializer_list<Field> f = {}) { Write(Level::kDebug, msg, f); }
inline void Info(std::string_view msg, std::initializer_list<Field> f = {}) { Write(Level::kInfo, msg, f); }
inline void Warn(std::string_view msg, std::initializer_list<Field> f = {}) { Write(Level::kWarn, msg, f); }
inline void Error(std::string_view msg, std::initializer_list<Field> f = {}) { Write(Level::kError, msg, f); }

// Formats one logfmt value (quoted and escaped when needed). Exposed for tests.
std::string QuoteValue(std::string_view value);

}  // namespace cohost::log
