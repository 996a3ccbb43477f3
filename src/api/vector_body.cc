#include "api/vector_body.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/json_args.h"
#include "util/json_extent.h"

namespace kissvdb::api {

namespace {

// Deeper values are left to the ordinary parser (and its depth limit).
constexpr int kMaxSkipDepth = 64;

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  void Ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool Peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  bool Eat(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  bool AtEnd() const { return pos_ == s_.size(); }

  // A member name of printable ASCII without escapes (anything else: the
  // ordinary parser, which also validates UTF-8 and decodes escapes).
  bool Key(std::string_view* out) {
    if (!Eat('"')) return false;
    const size_t start = pos_;
    for (; pos_ < s_.size(); ++pos_) {
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        *out = s_.substr(start, pos_ - start);
        ++pos_;
        return true;
      }
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
    }
    return false;
  }

  // The extent of one value; its syntax is checked by whoever parses it.
  bool SkipValue(std::string_view* out) {
    const size_t n = json_extent::ValueLength(s_.substr(pos_), kMaxSkipDepth);
    if (n == 0) return false;
    *out = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  // '[' number (',' number)* ']', each converted as nlohmann::json would
  // convert it and then json::get<float>() would: integers through int64 /
  // uint64, the others through a correctly rounded double.
  bool Numbers(std::vector<float>* out) {
    if (!Eat('[')) return false;
    out->reserve(1024);
    Ws();
    if (Eat(']')) return true;
    for (;;) {
      Ws();
      if (!Number(out)) return false;
      Ws();
      if (Eat(',')) continue;
      return Eat(']');
    }
  }

 private:
  bool Digit() const { return pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; }

  bool Number(std::vector<float>* out) {
    const size_t start = pos_;
    const bool negative = Eat('-');
    // The digits' value (integer and fraction parts together), accumulated
    // while scanning: most vectors in the wild are short integers (pixels,
    // counts, quantized embeddings) or short decimals, and this spares them
    // a second pass through from_chars.
    uint64_t mantissa = 0;
    int digits = 0;           // significant-or-not digits in mantissa
    int fraction_digits = 0;  // how many of them follow the '.'
    if (Eat('0')) {
      if (Digit()) return false;  // no leading zeros in JSON
      digits = 1;
    } else {
      if (!Digit()) return false;
      while (Digit()) Accumulate(&mantissa, &digits);
    }
    bool integer = true;
    if (Eat('.')) {
      integer = false;
      if (!Digit()) return false;
      while (Digit()) {
        Accumulate(&mantissa, &digits);
        ++fraction_digits;
      }
    }
    int exponent = 0;
    bool exponent_small = true;
    if (Peek('e') || Peek('E')) {
      integer = false;
      ++pos_;
      bool exponent_negative = false;
      if (!Eat('+')) exponent_negative = Eat('-');
      if (!Digit()) return false;
      while (Digit()) {
        if (exponent < 1000) exponent = exponent * 10 + (s_[pos_] - '0');
        else exponent_small = false;
        ++pos_;
      }
      if (exponent_negative) exponent = -exponent;
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    if (integer && digits <= 18) {  // fits int64 without overflow: exact
      const int64_t v = negative ? -static_cast<int64_t>(mantissa) : static_cast<int64_t>(mantissa);
      out->push_back(static_cast<float>(v));
      return true;
    }
    if (integer) {
      // Integers beyond 18 digits: nlohmann may keep them as uint64 or fall
      // back to double; let it decide.
      if (last - first > 19) return false;
      int64_t v = 0;
      auto [p, ec] = std::from_chars(first, last, v);
      if (ec != std::errc() || p != last) return false;
      out->push_back(static_cast<float>(v));
      return true;
    }
    // Clinger's fast path: a mantissa below 2^53 and a power of ten up to
    // 10^22 are both exact doubles, so one IEEE multiplication or division
    // gives the correctly rounded double, the same one from_chars gives.
    const int scale = exponent - fraction_digits;
    if (digits <= 19 && exponent_small && mantissa <= (uint64_t{1} << 53) && scale >= -22 && scale <= 22) {
      double d = static_cast<double>(mantissa);
      d = scale < 0 ? d / kPowersOfTen[-scale] : d * kPowersOfTen[scale];
      out->push_back(static_cast<float>(negative ? -d : d));
      return true;
    }
    double d = 0;
    auto [p, ec] = std::from_chars(first, last, d);
    if (ec != std::errc() || p != last) return false;  // out of range: as nlohmann sees it
    out->push_back(static_cast<float>(d));
    return true;
  }

  // Appends the digit at pos_ to *mantissa while it has room (19 digits
  // always fit a uint64); past that the fast path is off anyway.
  void Accumulate(uint64_t* mantissa, int* digits) {
    if (*digits < 19) *mantissa = *mantissa * 10 + static_cast<uint64_t>(s_[pos_] - '0');
    ++*digits;
    ++pos_;
  }

  static constexpr double kPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                            1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

  std::string_view s_;
  size_t pos_ = 0;
};

bool ParseObject(Scanner& s, const char* list, Json* out, FastVectors* vectors, std::optional<std::vector<float>>* own);

bool ParseList(Scanner& s, Json* out, FastVectors* vectors) {
  if (!s.Eat('[')) return false;
  *out = Json::array();
  s.Ws();
  if (s.Eat(']')) return true;
  for (;;) {
    s.Ws();
    Json element;
    std::optional<std::vector<float>> vector;
    if (!ParseObject(s, nullptr, &element, nullptr, &vector)) return false;  // not an object: ordinary path
    out->push_back(std::move(element));
    vectors->push_back(std::move(vector));
    s.Ws();
    if (s.Eat(',')) continue;
    return s.Eat(']');
  }
}

// One object. `own` receives its "vector" member (list == nullptr);
// `vectors` those of the elements of its member `list`.
bool ParseObject(Scanner& s, const char* list, Json* out, FastVectors* vectors, std::optional<std::vector<float>>* own) {
  if (!s.Eat('{')) return false;
  *out = Json::object();
  s.Ws();
  if (s.Eat('}')) return true;
  bool list_seen = false;
  for (;;) {
    s.Ws();
    std::string_view key;
    if (!s.Key(&key)) return false;
    s.Ws();
    if (!s.Eat(':')) return false;
    s.Ws();
    if (own != nullptr && key == "vector" && s.Peek('[')) {
      // A repeated "vector": the last one wins in nlohmann; leave it to it.
      if (own->has_value() || out->contains("vector")) return false;
      own->emplace();
      if (!s.Numbers(&**own)) return false;
    } else if (list != nullptr && key == list && s.Peek('[')) {
      if (list_seen) return false;
      list_seen = true;
      if (!ParseList(s, &(*out)[std::string(key)], vectors)) return false;
    } else {
      if (own != nullptr && key == "vector" && own->has_value()) return false;
      if (list != nullptr && key == list && list_seen) return false;
      std::string_view value;
      if (!s.SkipValue(&value)) return false;
      (*out)[std::string(key)] = Json::parse(value);  // throws on bad syntax
    }
    s.Ws();
    if (s.Eat(',')) continue;
    return s.Eat('}');
  }
}

bool PlainJsonContentType(std::string_view type) {
  if (type.empty()) return true;
  constexpr std::string_view kJson = "application/json";
  if (type.size() < kJson.size()) return false;
  for (size_t i = 0; i < kJson.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(type[i])) != kJson[i]) return false;
  }
  return type.size() == kJson.size() || type[kJson.size()] == ';';
}

}  // namespace

bool ParseVectorBodyText(std::string_view text, const char* list, Json* out, FastVectors* vectors) {
  vectors->clear();
  Scanner s(text);
  try {
    s.Ws();
    bool ok;
    if (list == nullptr) {
      std::optional<std::vector<float>> own;
      ok = ParseObject(s, nullptr, out, nullptr, &own);
      vectors->push_back(std::move(own));
    } else {
      ok = ParseObject(s, list, out, vectors, nullptr);
    }
    s.Ws();
    if (ok && s.AtEnd()) return true;
  } catch (const Json::exception&) {
  }
  vectors->clear();
  return false;
}

Result<Json> ParseVectorBody(const http::Request& req, const char* list, FastVectors* vectors) {
  Json out;
  if (PlainJsonContentType(req.header("content-type")) && ParseVectorBodyText(req.body(), list, &out, vectors)) {
    return out;
  }
  vectors->clear();
  return ObjectBody(req);
}

}  // namespace kissvdb::api
