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

std::string FoldAscii(std::string_view word) {
  std::string s(word);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<std::string> MatchExpression(std::string_view query, Syntax syntax, Tokenizer tokenizer) {
  if (!utf8::IsValid(query)) return Status::InvalidArgument("text is not valid UTF-8");
  if (syntax == Syntax::kFts5) {
    for (unsigned char c : query) {
      if (!std::isspace(c)) return std::string(query);
    }
    return std::string();
  }
  std::string out;
  std::set<std::string> seen;  // the tokenizers fold case: "Dog" and "dog" are one word
  size_t i = 0;
  while (i < query.size()) {
    while (i < query.size() && Separates(static_cast<unsigned char>(query[i]), tokenizer)) ++i;
    size_t start = i;
    while (i < query.size() && !Separates(static_cast<unsigned char>(query[i]), tokenizer)) ++i;
    if (i == start) break;
    std::string_view word = query.substr(start, i - start);
    if (!seen.insert(FoldAscii(word)).second) continue;
    if (seen.size() > kMaxQueryWords) {
      return Status::InvalidArgument("text holds more than " + std::to_string(kMaxQueryWords) + " distinct words");
    }
    if (!out.empty()) out += " OR ";
    AppendQuoted(word, &out);
  }
  return out;
}

}  // namespace kissvdb::text
