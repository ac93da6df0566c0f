// Status and StatusOr<T>: errors as values at module boundaries.
//
// A Status is either OK or carries a code, a human-readable message, and optionally the name of
// the input field that was wrong (so an HTTP layer can report it as OpenAI's "param").
// Thread safety: values; copy freely.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace cohost {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the caller's input is wrong; names the field
  kNotFound,           // a named thing does not exist
  kAlreadyExists,      // a thing with that name exists
  kFailedPrecondition, // the system is not in a state where this works
  kResourceExhausted,  // a bounded queue or a capacity is full; retry later
  kUnavailable,        // a dependency is down or not ready; retry later
  kDeadlineExceeded,   // a wait ran past its deadline
  kCancelled,          // the caller went away
  kPayloadTooLarge,    // a body or a prompt over a configured limit
  kUnimplemented,      // a valid request for something not supported
  kDataLoss,           // a file or artifact is corrupt or truncated
  kInternal,           // a bug or an environmental failure
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::string field = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The input field the error is about, or empty.
  const std::string& field() const { return field_; }
  // "CODE: message" for logs.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string field_;
};

inline Status InvalidArgument(std::string field, std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message), std::move(field));
}
inline Status NotFound(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message));
}
inline Status Internal(std::string message) {
  return Status(StatusCode::kInternal, std::move(message));
}
inline Status Unavailable(std::string message) {
  return Status(StatusCode::kUnavailable, std::move(message));
}
inline Status DataLoss(std::string message) {
  return Status(StatusCode::kDataLoss, std::move(message));
}

// Holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design
  StatusOr(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace cohost

#define COHOST_CONCAT_INNER(a, b) a##b
#define COHOST_CONCAT(a, b) COHOST_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                   \
  do {                                          \
    ::cohost::Status _st = (expr);              \
    if (!_st.ok()) return _st;                  \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr)                                    \
  auto COHOST_CONCAT(_so_, __LINE__) = (expr);                         \
  if (!COHOST_CONCAT(_so_, __LINE__).ok())                             \
    return COHOST_CONCAT(_so_, __LINE__).status();                     \
  lhs = std::move(COHOST_CONCAT(_so_, __LINE__)).value()
