// Moving values between JSON and SQLite: binding request parameters to a
// prepared statement, and rendering result columns as JSON.
//
// Binding (docs/sql.md "Parameters"): null -> NULL, true/false -> 1/0,
// integers -> INTEGER (int64; larger integers are refused rather than
// rounded), other numbers -> REAL, strings -> TEXT. Arrays and objects are
// refused. `params` is a JSON array (positional: ?, ?NNN, and named
// parameters by their index) or a JSON object (named: the key is the full
// name ":x" / "@x" / "$x", or the name without its sigil). Every parameter
// of the statement must be given and every given key must be used.
//
// Rendering: INTEGER -> number, REAL -> number, TEXT -> string (invalid
// UTF-8 is replaced by U+FFFD so the response is always valid JSON), BLOB ->
// base64 (standard alphabet, no padding, as the original), NULL -> null.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "kissvdb/event.h"
#include "kissvdb/status.h"

namespace kissvdb::sql {

// Binds `params` (null, array or object) to `stmt`. InvalidArgument naming
// the offending parameter on a shape, type, count or name error.
// REQUIRES: the statement's bindings are cleared (fresh or after
// sqlite3_clear_bindings).
Status BindParams(sqlite3_stmt* stmt, const Json& params);

// Column `i` of the current row as JSON. Adds an estimate of the value's
// serialized size to *bytes.
Json ColumnJson(sqlite3_stmt* stmt, int i, size_t* bytes);

// The same value appended to *out as JSON text, byte for byte what
// ColumnJson(...).dump(-1, ' ', false, replace) writes, with the same
// estimate added to *bytes (no Json tree: the query hot path).
void AppendColumnJson(sqlite3_stmt* stmt, int i, size_t* bytes, std::string* out);

// Standard base64 (RFC 4648 alphabet) without '=' padding.
std::string Base64NoPad(std::string_view data);

// `s` with every ill-formed UTF-8 sequence replaced by U+FFFD.
std::string ToValidUtf8(std::string_view s);

}  // namespace kissvdb::sql
