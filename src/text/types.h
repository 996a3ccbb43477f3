// Value types of the text index (full-text search over SQLite FTS5) and the
// pure checks on user input. The engine and the API layer see only these
// types; nothing here includes SQLite.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kissvdb/status.h"

namespace kissvdb::text {

using Json = nlohmann::json;

// What a text index belongs to: a vector collection (its items' meta) or a
// document collection (its documents).
enum class Target : uint8_t { kVector, kDoc };
std::string_view TargetName(Target target);  // "vector", "doc"
Result<Target> ParseTarget(std::string_view name);

// How text is cut into terms (docs/search.md):
//   kUnicode61: Unicode words, case folded, diacritics removed
//               (FTS5 "unicode61 remove_diacritics 2"): "cancion" finds "canción".
//   kPorter:    the same words, then English stemming ("porter unicode61 ...").
//   kTrigram:   every 3-character substring, case folded: substring and code
//               search; no diacritics folding (SQLite 3.40).
enum class Tokenizer : uint8_t { kUnicode61, kPorter, kTrigram };
std::string_view TokenizerName(Tokenizer tokenizer);
Result<Tokenizer> ParseTokenizer(std::string_view name);

// A text index's definition: which fields of each item or document are
// indexed, and how. Fields are top-level names or dotted paths ("a.b");
// a string value is indexed, an array's string elements are indexed (joined
// by newlines), anything else is ignored.
struct TextSpec {
  std::vector<std::string> fields;
  Tokenizer tokenizer = Tokenizer::kUnicode61;
};
constexpr size_t kMaxTextFields = 16;
constexpr size_t kMaxFieldPathBytes = 256;

// 1..kMaxTextFields distinct, non-empty UTF-8 paths without control characters.
Status ValidateSpec(const TextSpec& spec);
Json SpecToJson(const TextSpec& spec);  // {"fields": [...], "tokenizer": "..."}
// Reads {"fields": [...], "tokenizer"?: "..."}; InvalidArgument naming the field.
Result<TextSpec> SpecFromJson(const Json& j);

// The text of each field of `object` (empty string when the field is missing
// or holds no string), in spec order.
std::vector<std::string> ExtractFields(const TextSpec& spec, const Json& object);
size_t TextBytes(const std::vector<std::string>& fields);

// How the user's query is read.
//   kPlain: words only. The query matches items holding any of its words,
//           ranked by BM25; every character is safe (quotes, operators, "*").
//   kFts5:  FTS5's query syntax (phrases, NEAR, prefix*, AND/OR/NOT); a
//           malformed query is InvalidQuery.
enum class Syntax : uint8_t { kPlain, kFts5 };
Result<Syntax> ParseSyntax(std::string_view name);

// One hit of the text leg: the item, its BM25 score (higher is better: the
// negated FTS5 bm25()), its 1-based rank, and a snippet when asked for.
struct TextHit {
  std::string id;
  double score = 0;
  uint32_t rank = 0;
  std::optional<std::string> snippet;
};

// How a hybrid search merges its two ranked legs (docs/search.md).
//   kRrf:      reciprocal rank fusion: each leg adds weight / (rrf_k + rank),
//              rank 1-based; a leg that misses the item adds nothing.
//   kWeighted: each leg's scores are min-max normalized over its candidates
//              (all equal -> 1); score = vector_weight * vector + (1 -
//              vector_weight) * text, a missing leg counting 0.
struct Fusion {
  enum class Method : uint8_t { kRrf, kWeighted } method = Method::kRrf;
  double rrf_k = 60;
  double text_weight = 1;    // kRrf
  double vector_weight = 1;  // kRrf: the vector leg's weight; kWeighted: in [0, 1]
};

// How matched terms are marked in snippets.
struct Highlight {
  bool enabled = false;
  std::string pre = "<mark>";
  std::string post = "</mark>";
  uint32_t tokens = 16;  // about how many tokens a snippet holds (1..64)
};

}  // namespace kissvdb::text
