#include "text/query.h"

#include <cctype>
#include <set>

#include "util/utf8.h"

namespace kissvdb::text {

namespace {

bool Separates(unsigned char c, Tokenizer tokenizer) {
  if (c >= 0x80) return false;  // part of a multi-byte character: the tokenizer decides
  if (tokenizer == Tokenizer::kTrigram) return std::isspace(c) != 0;
  return std::isalnum(c) == 0;
}

void AppendQuoted(std::string_view word, std::string* out) {
  out->push_back('"');
  for (char c : word) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

// English function words (the Snowball list, as PostgreSQL's `english`
// text search configuration uses): dropped from plain queries of `porter`
// indexes, whose tokenizer is English-only. They match most documents and
// add almost nothing to BM25, but ranking their long posting lists is most
// of a query's cost.
bool IsEnglishStopWord(const std::string& folded) {
  static const std::set<std::string, std::less<>> kStop = {
      "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "yourself",
      "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself",
      "they", "them", "their", "theirs", "themselves", "what", "which", "who", "whom", "this", "that", "these",
      "those", "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do",
      "does", "did", "doing", "a", "an", "the", "and", "but", "if", "or", "because", "as", "until", "while",
      "of", "at", "by", "for", "with", "about", "against", "between", "into", "through", "during", "before",
      "after", "above", "below", "to", "from", "up", "down", "in", "out", "on", "off", "over", "under",
      "again", "further", "then", "once", "here", "there", "when", "where", "why", "how", "all", "any", "both",
      "each", "few", "more", "most", "other", "some", "such", "no", "nor", "not", "only", "own", "same", "so",
      "than", "too", "very", "s", "t", "can", "will", "just", "don", "should", "now"};
  return kStop.count(folded) > 0;
}

std::string FoldAscii(std::string_view word) {
  std::string s(word);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<Query> ParseQuery(std::string_view query, Syntax syntax, Tokenizer tokenizer) {
  if (!utf8::IsValid(query)) return Status::InvalidArgument("text is not valid UTF-8");
  Query out;
  if (syntax == Syntax::kFts5) {
    for (unsigned char c : query) {
      if (!std::isspace(c)) {
        out.match = std::string(query);
        break;
      }
    }
    return out;
  }
  std::set<std::string> seen;  // the tokenizers fold case: "Dog" and "dog" are one word
  size_t i = 0;
  while (i < query.size()) {
    while (i < query.size() && Separates(static_cast<unsigned char>(query[i]), tokenizer)) ++i;
    size_t start = i;
    while (i < query.size() && !Separates(static_cast<unsigned char>(query[i]), tokenizer)) ++i;
    if (i == start) break;
    std::string_view word = query.substr(start, i - start);
    std::string folded = FoldAscii(word);
    if (tokenizer == Tokenizer::kPorter && IsEnglishStopWord(folded)) continue;
    if (!seen.insert(std::move(folded)).second) continue;
    if (seen.size() > kMaxQueryWords) {
      return Status::InvalidArgument("text holds more than " + std::to_string(kMaxQueryWords) + " distinct words");
    }
    if (!out.match.empty()) out.match += " OR ";
    AppendQuoted(word, &out.match);
    out.words.emplace_back(word);
  }
  return out;
}

Result<std::string> MatchExpression(std::string_view query, Syntax syntax, Tokenizer tokenizer) {
  auto parsed = ParseQuery(query, syntax, tokenizer);
  if (!parsed.ok()) return parsed.status();
  return std::move(parsed->match);
}

}  // namespace kissvdb::text
