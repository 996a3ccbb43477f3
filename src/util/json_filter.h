// JsonFilter: a small, MongoDB-flavoured predicate over JSON documents,
// compiled once and evaluated many times (vector search meta filters, the
// document store's find).
//
// Grammar (a filter is a JSON object; every top-level entry must hold, so
// several entries are AND-ed):
//   {"field": value}                exact JSON equality (the original
//                                   behaviour); `value` may be any JSON,
//                                   including an object with no "$" keys
//   {"field": {"$op": operand, ...}} operators, all of which must hold:
//       $eq, $ne        JSON equality / inequality (1 == 1.0)
//       $in, $nin       operand is an array; (not) equal to one of its items
//       $gt $gte $lt $lte  operand is a number or a string; numbers compare
//                       numerically with numbers, strings byte-wise
//                       (lexicographic) with strings; any other pairing,
//                       including a missing field, does not match
//       $exists         operand is a bool
//   {"$and": [filter, ...]}, {"$or": [filter, ...]}  non-empty arrays
//   {"$not": filter}
// A field name is a dotted path: "a.b.c" walks nested objects; a segment
// that is a decimal number indexes into an array. A missing field matches
// only $ne, $nin and {"$exists": false}. Arrays are compared as whole values
// (no "any element" matching). The empty filter {} matches everything.
//
// Thread-safety: a compiled JsonFilter is immutable; Matches() may be called
// from many threads at once.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kissvdb/status.h"

namespace kissvdb {

using Json = nlohmann::json;

class JsonFilter {
 public:
  struct Node;  // compiled predicate tree (defined in json_filter.cc)

  // Filters nested deeper than this ($and/$or/$not levels) are rejected.
  static constexpr int kMaxDepth = 32;

  // Compiles `filter`. A null filter is the same as {} (match everything).
  // Returns InvalidArgument naming the offending part for anything else
  // that does not follow the grammar above.
  static Result<JsonFilter> Compile(const Json& filter);

  // The value at a dotted path ("a.b.0.c": object members, and array
  // elements for numeric segments), as filters see it; null when missing.
  static const Json* ResolvePath(const Json& doc, std::string_view dotted);

  JsonFilter();  // matches everything
  JsonFilter(JsonFilter&&) noexcept;
  JsonFilter& operator=(JsonFilter&&) noexcept;
  ~JsonFilter();

  bool Matches(const Json& doc) const;

  // True when the filter matches every document (it was {} or null).
  bool MatchesAll() const;

  // Top-level (undotted) fields that every matching document must hold with
  // exactly this value: plain equalities and $eq reached through top-level
  // entries and top-level $and, never through $or/$not. An index can
  // answer the filter from these and re-check the rest with Matches().
  const std::vector<std::pair<std::string, Json>>& EqualityFields() const { return equalities_; }

 private:
  std::unique_ptr<Node> root_;  // null = match everything
  std::vector<std::pair<std::string, Json>> equalities_;
};

}  // namespace kissvdb
