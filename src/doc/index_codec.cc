#include "doc/index_codec.h"

#include <bit>
#include <cstring>

namespace kissvdb::doc {

namespace {

size_t EscapedSize(std::string_view s) {
  size_t n = s.size() + 2;
  for (char c : s) n += c == '\0';
  return n;
}

void AppendNumber(std::string* out, double d) {
  if (d == 0) d = 0;  // -0 and +0 are equal as JSON values: one encoding
  uint64_t bits = std::bit_cast<uint64_t>(d);
  // Negative numbers: flip every bit (larger magnitude sorts first);
  // positive: flip the sign bit so they sort after all negatives.
  bits = (bits & (1ull << 63)) ? ~bits : bits ^ (1ull << 63);
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((bits >> shift) & 0xff));
}

}  // namespace

void AppendEscaped(std::string* out, std::string_view s) {
  out->reserve(out->size() + EscapedSize(s));
  for (char c : s) {
    out->push_back(c);
    if (c == '\0') out->push_back('\xff');
  }
  out->push_back('\0');
  out->push_back('\x01');
}

bool AppendScalar(std::string* out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      out->push_back(static_cast<char>(tag::kNull));
      return true;
    case Json::value_t::boolean:
      out->push_back(static_cast<char>(value.get<bool>() ? tag::kTrue : tag::kFalse));
      return true;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      out->push_back(static_cast<char>(tag::kNumber));
      AppendNumber(out, value.get<double>());
      return true;
    case Json::value_t::string:
      out->push_back(static_cast<char>(tag::kString));
      AppendEscaped(out, value.get_ref<const std::string&>());
      return true;
    default:
      return false;
  }
}

std::string SortKey(const Json* value) {
  std::string key;
  if (value == nullptr) {
    key.push_back(static_cast<char>(tag::kMissing));
  } else if (!AppendScalar(&key, *value)) {
    key.push_back(static_cast<char>(tag::kComposite));
    key.append(value->dump());
  }
  return key;
}

size_t ScalarLength(std::string_view s) {
  if (s.empty()) return 0;
  switch (static_cast<uint8_t>(s[0])) {
    case tag::kNull:
    case tag::kFalse:
    case tag::kTrue:
      return 1;
    case tag::kNumber:
      return s.size() >= 9 ? 9 : 0;
    case tag::kString:
      for (size_t i = 1; i + 1 < s.size(); ++i) {
        if (s[i] != '\0') continue;
        if (s[i + 1] == '\x01') return i + 2;
        ++i;  // 0x00 0xFF: an escaped zero byte
      }
      return 0;
    default:
      return 0;
  }
}

std::string CollectionPrefix(std::string_view collection) {
  std::string k(collection);
  k.push_back('\0');
  return k;
}

std::string DocKey(std::string_view collection, std::string_view id) {
  std::string k = CollectionPrefix(collection);
  k.append(id);
  return k;
}

std::string FieldPrefix(std::string_view collection, std::string_view field) {
  std::string k = CollectionPrefix(collection);
  AppendEscaped(&k, field);
  return k;
}

std::string FieldStatsKey(std::string_view collection, std::string_view field) {
  std::string k = CollectionPrefix(collection);
  k.append(field);
  return k;
}

bool IndexableField(std::string_view field) { return EscapedSize(field) <= kMaxIndexedFieldBytes; }

}  // namespace kissvdb::doc
