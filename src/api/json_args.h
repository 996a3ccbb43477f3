// Helpers that pull typed fields out of request JSON and query strings,
// with 400 errors that name the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "http/request.h"
#include "kissvdb/engine.h"
#include "kissvdb/event.h"
#include "kissvdb/status.h"

namespace kissvdb::api {

// The body must be a JSON object.
Result<Json> ObjectBody(const http::Request& req);

// Optional unsigned integer field; absent or null = nullopt.
Result<std::optional<uint64_t>> OptionalU64(const Json& obj, const char* field);
// Optional boolean field.
Result<std::optional<bool>> OptionalBool(const Json& obj, const char* field);
// Required string field.
Result<std::string> RequiredString(const Json& obj, const char* field);

// Query parameter as u64: `fallback` when absent, 400 when malformed.
Result<uint64_t> QueryU64(const http::Request& req, const std::string& name, uint64_t fallback);

// 413 payload_too_large if `value` serializes to more than `limit` bytes.
// `hint` is an upper bound on the size (e.g. the body length) that lets the
// common case skip serializing.
Status CheckJsonSize(const Json& value, uint64_t limit, size_t hint, const char* what);

// The Responder callback for an Engine result: error JSON or render(value).
template <typename T, typename Render>
Callback<T> Reply(const http::Responder& res, Render render) {
  return [res, render = std::move(render)](Result<T> r) {
    if (!r.ok()) {
      res.Error(r.status());
    } else {
      res.Send(render(r.value()));
    }
  };
}

}  // namespace kissvdb::api
