#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace cohost::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::string g_component;  // set once in main() before threads start

spdlog::logger& Logger() {
  // stderr, one line per event; spdlog serialises writers.
  static auto logger = [] {
    auto l = std::make_shared<spdlog::logger>("cohost",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ %v", spdlog::pattern_time_type::utc);
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

}  // namespace

void SetLevel(Level level) { g_level = level; }
bool Enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }
void SetComponent(std::string_view name) { g_component = name; }

std::string QuoteValue(std::string_view value) {
  bool needs_quotes = value.empty();
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      needs_quotes = true;
      break;
    }
  }
  if (!needs_quotes) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::string line = "level=";
  line += LevelName(level);
  if (!g_component.empty()) {
    line += " component=";
    line += g_component;
  }
  line += " msg=";
  line += QuoteValue(msg);
  for (const Field& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    line += QuoteValue(f.value);
  }
  Logger().info(line);
}

}  // namespace cohost::log
