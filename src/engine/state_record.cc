#include "engine/state_record.h"

#include <algorithm>
#include <climits>

#include "util/json_extent.h"

namespace kissvdb {

namespace {

bool Eat(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}

// A JSON unsigned integer as the dump writes it (no sign, no leading zero,
// no fraction), within uint64.
bool Uint(std::string_view* s, uint64_t* out) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < s->size() && (*s)[i] >= '0' && (*s)[i] <= '9') {
    const uint64_t digit = static_cast<uint64_t>((*s)[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
    ++i;
  }
  if (i == 0 || (i > 1 && (*s)[0] == '0')) return false;
  s->remove_prefix(i);
  *out = v;
  return true;
}

}  // namespace

bool ReadStatePutRecord(std::string_view s, StatePutRecord* out) {
  if (!Eat(&s, "{\"expires_at_ms\":")) return false;
  out->expires_at_ms = 0;
  if (!Eat(&s, "null") && (!Uint(&s, &out->expires_at_ms) || out->expires_at_ms == 0)) return false;
  if (!Eat(&s, ",\"key\":\"")) return false;
  size_t end = 0;
  while (end < s.size() && s[end] != '"') {
    const unsigned char c = static_cast<unsigned char>(s[end]);
    if (c == '\\' || c < 0x20) return false;  // escaped: the parser decodes it
    ++end;
  }
  if (end == s.size()) return false;
  out->key = s.substr(0, end);
  s.remove_prefix(end + 1);
  if (!Eat(&s, ",\"revision\":") || !Uint(&s, &out->revision)) return false;
  if (!Eat(&s, ",\"value\":")) return false;
  // "value" is the last member: the object closes right after it.
  const size_t n = json_extent::ValueLength(s, INT_MAX);
  if (n == 0 || n + 1 != s.size() || s[n] != '}') return false;
  out->value = s.substr(0, n);
  return true;
}

void StatePutBatch::Add(uint64_t offset, uint64_t ts_ms, const StatePutRecord& put) {
  items_.push_back(Item{bytes_.size(), put.key.size(), put.value.size(), offset, ts_ms, put.revision,
                        put.expires_at_ms});
  bytes_.append(put.key);
  bytes_.append(put.value);
}

const std::vector<StatePutBatch::Entry>& StatePutBatch::Sorted() {
  if (sorted_.size() == items_.size()) return sorted_;  // sorted since the last Add
  sorted_.clear();
  sorted_.reserve(items_.size());
  for (const Item& it : items_) {
    const std::string_view all(bytes_);
    sorted_.push_back(Entry{all.substr(it.at, it.key_size), all.substr(it.at + it.key_size, it.value_size),
                            it.offset, it.ts_ms, it.revision, it.expires_at_ms});
  }
  std::sort(sorted_.begin(), sorted_.end(), [](const Entry& a, const Entry& b) {
    const int c = a.key.compare(b.key);
    return c != 0 ? c < 0 : a.offset < b.offset;
  });
  return sorted_;
}

void StatePutBatch::Clear() {
  bytes_.clear();
  items_.clear();
  sorted_.clear();
}

}  // namespace kissvdb
