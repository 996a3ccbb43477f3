// VectorBody: the request bodies of the vector routes, with their "vector"
// arrays decoded straight to floats.
//
// A Fashion-MNIST search body is ~800 numbers. Parsed by nlohmann::json,
// every number becomes a DOM node (strtod, an allocation, a destructor) only
// to be copied into a std::vector<float>: a quarter of a search's CPU in the
// profile (bench/NOTES.md). Here the arrays are read with std::from_chars and
// every other member is still parsed by nlohmann::json, so the result is the
// one of ObjectBody + reading "vector" as JSON: the same floats bit for bit,
// the same errors. Anything unusual (a Content-Type other than plain
// application/json, escapes or non-ASCII bytes in a key, a repeated
// "vector", a number nlohmann would read differently, a syntax error) takes
// exactly that ordinary path.
#pragma once

#include <optional>
#include <vector>

#include "http/request.h"
#include "kissvdb/event.h"
#include "kissvdb/status.h"

namespace kissvdb::api {

using FastVectors = std::vector<std::optional<std::vector<float>>>;

// Parses the body, a JSON object. With list == nullptr, the object's own
// "vector" member is the one decoded (into (*vectors)[0]); otherwise the
// "vector" member of each element of its array member `list` ("queries",
// "items"), into (*vectors)[i]. A decoded member is removed from the
// returned JSON. When the fast path did not apply, *vectors is empty and the
// JSON is the whole body (read "vector" from it as before).
Result<Json> ParseVectorBody(const http::Request& req, const char* list, FastVectors* vectors);

// The same on a string, without the HTTP checks (tests): false when the fast
// path does not apply.
bool ParseVectorBodyText(std::string_view text, const char* list, Json* out, FastVectors* vectors);

}  // namespace kissvdb::api
