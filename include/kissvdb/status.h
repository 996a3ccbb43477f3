// Status: errors as values. Every fallible call inside the engine returns a
// Status (or a Result<T>); exceptions never cross a module boundary. The
// code set is the wire contract: each Code maps to one JSON error code and
// one HTTP status (see src/http/errors.cc), so an engine error reaches the
// client unchanged.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kissvdb {

enum class Code {
  kOk = 0,
  kInvalidArgument,       // 400 invalid_argument
  kDimMismatch,           // 400 dim_mismatch
  kSqliteError,           // 400 sqlite_error
  kInvalidQuery,          // 400 invalid_query (a malformed FTS5 text query)
  kUnauthorized,          // 401 unauthorized
  kForbidden,             // 403 forbidden
  kNotFound,              // 404 not_found
  kNotEnabled,            // 404 not_enabled
  kMethodNotAllowed,      // 405 method_not_allowed
  kRequestTimeout,        // 408 request_timeout
  kRevisionMismatch,      // 409 revision_mismatch
  kAlreadyExists,         // 409 already_exists
  kConflict,              // 409 conflict (e.g. expected_offset moved on)
  kGone,                  // 410 compacted (offset removed by retention)
  kPayloadTooLarge,       // 413 payload_too_large
  kUnsupportedMediaType,  // 415 unsupported_media_type
  kTooManyRequests,       // 429 too_many_requests (a concurrency limit)
  kPersistenceError,      // 500 persistence_error
  kInternal,              // 500 internal
  kCorruption,            // 500 corruption (start-up refuses to continue)
  kNotSupported,          // 501 not_supported
  kUnavailable,           // 503 unavailable (shutting down, log failed)
  kInsufficientStorage,   // 507 insufficient_storage (disk full)
};

class Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kPersistenceError, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Human-readable "code: message" for logs.
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// The wire name of a code ("invalid_argument", ...) and its HTTP status.
std::string_view CodeName(Code code);
int HttpStatusOf(Code code);

// Result<T>: a value or a non-OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}               // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}        // NOLINT: must not be OK

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kissvdb

// Propagate a non-OK Status to the caller.
#define KISSVDB_RETURN_IF_ERROR(expr)              \
  do {                                             \
    ::kissvdb::Status _st = (expr);                \
    if (!_st.ok()) return _st;                     \
  } while (0)
