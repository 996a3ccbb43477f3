// The user's text query, turned into an FTS5 MATCH expression.
//
// Plain queries are words only: the query is cut into words (at ASCII
// white space and punctuation; with the trigram tokenizer, at white space
// only, so "foo.bar" stays one substring), each word becomes an FTS5 string
// ("..." with quotes doubled) and the words are joined with OR. So any input
// is safe: quotes, "-", "*", AND/NEAR or unbalanced quotes are just
// characters of words. Inside a string FTS5 cuts the word again with the
// index's own tokenizer ("¿qué" -> "qué"; "l'été" -> the phrase "l ete").
// With the porter (English) tokenizer, English stop words ("the", "and",
// "for", ... the Snowball list PostgreSQL's `english` configuration uses)
// are dropped first: a query of only stop words is an empty result.
//
// FTS5-syntax queries pass through unchanged; SQLite rejects a malformed
// one when it runs (the index reports InvalidQuery).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kissvdb/status.h"
#include "text/types.h"

namespace kissvdb::text {

// Most distinct words a plain query may hold.
constexpr size_t kMaxQueryWords = 256;

// A query, ready for the index.
struct Query {
  std::string match;               // the MATCH expression; "" when the query holds no word at all
  std::vector<std::string> words;  // plain queries: the words the expression ORs, in order
};

// The parsed query: an empty match is an empty result, not an error.
// InvalidArgument for invalid UTF-8 or too many words.
Result<Query> ParseQuery(std::string_view query, Syntax syntax, Tokenizer tokenizer);
// ParseQuery(...).match.
Result<std::string> MatchExpression(std::string_view query, Syntax syntax, Tokenizer tokenizer);

}  // namespace kissvdb::text
