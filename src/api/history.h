// What the state and document routes share for reads of the past
// (docs/history.md): the `at`/`before`/`limit` arguments, the 410 answer
// below the history's horizon, and a page of versions.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "api/api.h"

namespace kissvdb::api {

// `at` from the query string: nullopt when absent, 400 when not a number.
Result<std::optional<uint64_t>> QueryAt(const Request& req);

// 410 {"error":"compacted","message","oldest_offset"} for a read below the
// horizon (`horizon` is the table's, when it could be read).
void SendCompacted(const Responder& res, const Status& st, const Result<uint64_t>& horizon);

// GET .../history: reads `limit` and `before`, calls page(before, limit)
// and answers {"versions":[...],"next_before"}, each version's value under
// `value_field` ("value" for keys, "doc" for documents).
void SendHistory(const ApiContext& ctx, Request& req, const Responder& res, std::string_view value_field,
                 const std::function<Result<StateHistoryPage>(uint64_t before, uint32_t limit)>& page);

}  // namespace kissvdb::api
