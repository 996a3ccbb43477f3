// The user's text query, turned into an FTS5 MATCH expression.
//
// Plain queries are words only: the query is cut into words (at ASCII
// white space and punctuation; with the trigram tokenizer, at white space
// only, so "foo.bar" stays one substring), each word becomes an FTS5 string
// ("..." with quotes doubled) and the words are joined with OR. So any input
// is safe: quotes, "-", "*", AND/NEAR or unbalanced quotes are just
// characters of words. Inside a string FTS5 cuts the word again with the
// index's own tokenizer ("¿qué" -> "qué"; "l'été" -> the phrase "l ete").
//
// FTS5-syntax queries pass through unchanged; SQLite rejects a malformed
// one when it runs (the index reports InvalidQuery).
#pragma once

#include <string>
#include <string_view>

#include "kissvdb/status.h"
#include "text/types.h"

namespace kissvdb::text {

// Most distinct words a plain query may hold.
constexpr size_t kMaxQueryWords = 256;

// The MATCH expression, or "" when the query holds no word at all (an empty
// result, not an error). InvalidArgument for invalid UTF-8 or too many words.
Result<std::string> MatchExpression(std::string_view query, Syntax syntax, Tokenizer tokenizer);

}  // namespace kissvdb::text
