#include "stream/filter.h"

#include <algorithm>

namespace kissvdb::stream {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Length-prefixed, so no separator can be forged by a value.
void AppendField(std::string* out, std::string_view value) {
  out->append(std::to_string(value.size())).append(":").append(value);
}

}  // namespace

Filter::Filter(std::string_view types_csv, std::string key_prefix, std::string collection)
    : key_prefix_(std::move(key_prefix)), collection_(std::move(collection)) {
  while (!types_csv.empty()) {
    const size_t comma = types_csv.find(',');
    std::string_view item = Trim(types_csv.substr(0, comma));
    if (!item.empty()) types_.emplace_back(item);
    types_csv = comma == std::string_view::npos ? std::string_view() : types_csv.substr(comma + 1);
  }
  std::sort(types_.begin(), types_.end());
  types_.erase(std::unique(types_.begin(), types_.end()), types_.end());

  key_.append("t");
  for (const std::string& t : types_) AppendField(&key_, t);
  key_.append("k");
  AppendField(&key_, key_prefix_);
  key_.append("c");
  AppendField(&key_, collection_);
}

bool Filter::Matches(const EventFields& fields) const {
  if (!types_.empty() && !std::binary_search(types_.begin(), types_.end(), fields.type)) return false;
  if (!key_prefix_.empty()) {
    if (!fields.key || fields.key->compare(0, key_prefix_.size(), key_prefix_) != 0) return false;
  }
  if (!collection_.empty()) {
    if (!fields.collection || *fields.collection != collection_) return false;
  }
  return true;
}

}  // namespace kissvdb::stream
