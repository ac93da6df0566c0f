// Reading a runner's log: the error a runner gave before it exited, for the copy's events.
//
// A runner writes logfmt lines (`level=error component=runner msg="cannot load model"
// error="..."`, see core/log.h). The agent appends each run's output to the copy's log file and,
// when the runner exits, reports the last error line of that run.
// Thread safety: pure functions; call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cohost::agent {

// The key=value pairs of one logfmt line, values unquoted and unescaped, in order. Text before
// the first key (a timestamp prefix, say) that is not key=value is skipped.
std::vector<std::pair<std::string, std::string>> ParseLogfmt(std::string_view line);

// The last `level=error` line of `log_text`, as "msg: error" (or "msg" when the line has no
// error field, plus any other fields as "key=value"); nullopt when there is none.
std::optional<std::string> LastErrorInLog(std::string_view log_text);

// A loading runner's progress, from its `msg="load progress" bytes=.. total=.. mib_per_s=..
// eta_s=..` lines (the streaming loader writes one about once a second).
struct LoadProgress {
  int64_t bytes = 0;      // bytes of tensor data loaded so far
  int64_t total = 0;      // of this many
  int64_t mib_per_s = 0;  // average rate so far
  double eta_s = 0;       // at that rate
  bool operator==(const LoadProgress&) const = default;
};

// The last load progress line of `log_text`; nullopt when there is none.
std::optional<LoadProgress> LastLoadProgressInLog(std::string_view log_text);

// "loaded 512 of 1028 MiB (49%), 600 MiB/s, about 1 s left", for events and the CLI.
std::string DescribeLoadProgress(const LoadProgress& p);

}  // namespace cohost::agent
