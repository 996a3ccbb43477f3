// Find: query planning and execution over a DocStore, in one read txn.
//
// Result order is fixed by the request, never by the plan: id order without
// `sort`; with `sort`, the field's sort key (doc/index_codec.h: missing <
// null < false < true < numbers < strings < objects/arrays), ties by id,
// and `desc` is the exact reverse. So every plan returns the same documents
// in the same order, and cursors stay valid when the plan changes.
//
// Plans, in order of preference:
//   1. index eq     a top-level equality on an indexed scalar: walk the
//   2. index in     entries of that value (already in id order), or of each
//                   value of a top-level $in merged by id. Among several,
//                   the one with the fewest entries wins (counted, stopping
//                   at the best so far); equality wins ties.
//   3. index sort   sorting on a field whose index covers every document:
//                   walk the index in sort order (bounded by a range on the
//                   same field, if any). Beats 1/2 when their C entries
//                   satisfy C^2 > N * (limit+1), i.e. when walking until
//                   limit+1 matches should read fewer documents than C.
//   4. index range  $gt/$gte/$lt/$lte on a top-level field: collect the ids
//                   in the range, sort them; abandoned for a scan when the
//                   range holds more than a quarter of the collection
//   5. scan         walk the collection in id order
// Every candidate is re-checked with the full filter. Without sort (or with
// plan 3) execution stops at limit+1 matches; other sorted plans collect all
// matches, sort their keys in memory and read back only the page.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "doc/doc_store.h"
#include "util/json_filter.h"

namespace kissvdb::doc {

struct SortSpec {
  std::string field;  // top-level or dotted path
  bool descending = false;
};

struct FindRequest {
  std::string collection;
  Json filter;                // the raw filter (null or an object), for the planner
  const JsonFilter* compiled = nullptr;  // Compile(filter); null = match everything
  std::optional<SortSpec> sort;
  std::string cursor;         // "" = first page
  uint32_t limit = 20;        // >= 1
  // Stop once this many documents were examined plus index entries read,
  // and return nothing but gave_up (0 = no limit): for a caller that must
  // not block long and will run the query again elsewhere.
  uint64_t give_up_after = 0;
};

struct FoundDoc {
  std::string id;
  uint64_t revision = 0;
  std::string json;
};

struct FindResult {
  std::vector<FoundDoc> docs;
  std::string next_cursor;  // "" = no more results
  // {"used": "index"|"scan", "field"?, "op"?: "eq"|"in"|"range"|"sort",
  //  "sort"?: "index"|"memory", "examined": n, "index_entries"?: n}
  Json plan;
  bool gave_up = false;  // stopped at give_up_after: docs and cursor are empty
};

// REQUIRES: `txn` is a read transaction (candidates point into the map
// while the query runs). InvalidArgument for a bad cursor or limit 0.
Status Find(const DocStore& store, const kv::Txn& txn, const FindRequest& request, FindResult* result);

}  // namespace kissvdb::doc
