// URL pieces of a request target: path/query split, percent-decoding and
// query-string parsing (application/x-www-form-urlencoded rules: '+' is a
// space in the query only).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace kissvdb::http {

// Splits "/a/b?x=1" into path "/a/b" and query "x=1" (no '?'); a '#'
// fragment, which clients should not send, is dropped.
void SplitTarget(std::string_view target, std::string_view* path, std::string_view* query);

// Appends the percent-decoding of `in` to *out. With plus_is_space, '+'
// decodes to ' ' (query strings). Returns false on a malformed escape ('%'
// not followed by two hex digits); *out is then unspecified. Decoded bytes
// are not checked for UTF-8: that is the handlers' business.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out);

// Parses "a=1&b=x%20y&flag" into *out (flag -> ""). Empty pairs are skipped;
// a repeated name keeps its last value. Returns false on a malformed escape.
bool ParseQuery(std::string_view query, std::map<std::string, std::string>* out);

}  // namespace kissvdb::http
