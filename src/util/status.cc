#include "kissvdb/status.h"

namespace kissvdb {

namespace {
struct CodeInfo {
  std::string_view name;
  int http_status;
};

CodeInfo InfoOf(Code code) {
  switch (code) {
    case Code::kOk: return {"ok", 200};
    case Code::kInvalidArgument: return {"invalid_argument", 400};
    case Code::kDimMismatch: return {"dim_mismatch", 400};
    case Code::kSqliteError: return {"sqlite_error", 400};
    case Code::kInvalidQuery: return {"invalid_query", 400};
    case Code::kUnauthorized: return {"unauthorized", 401};
    case Code::kForbidden: return {"forbidden", 403};
    case Code::kNotFound: return {"not_found", 404};
    case Code::kNotEnabled: return {"not_enabled", 404};
    case Code::kMethodNotAllowed: return {"method_not_allowed", 405};
    case Code::kRequestTimeout: return {"request_timeout", 408};
    case Code::kRevisionMismatch: return {"revision_mismatch", 409};
    case Code::kAlreadyExists: return {"already_exists", 409};
    case Code::kConflict: return {"conflict", 409};
    case Code::kGone: return {"compacted", 410};
    case Code::kPayloadTooLarge: return {"payload_too_large", 413};
    case Code::kUnsupportedMediaType: return {"unsupported_media_type", 415};
    case Code::kTooManyRequests: return {"too_many_requests", 429};
    case Code::kPersistenceError: return {"persistence_error", 500};
    case Code::kInternal: return {"internal", 500};
    case Code::kCorruption: return {"corruption", 500};
    case Code::kNotSupported: return {"not_supported", 501};
    case Code::kUnavailable: return {"unavailable", 503};
    case Code::kInsufficientStorage: return {"insufficient_storage", 507};
  }
  return {"internal", 500};
}
}  // namespace

std::string_view CodeName(Code code) { return InfoOf(code).name; }
int HttpStatusOf(Code code) { return InfoOf(code).http_status; }

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace kissvdb
