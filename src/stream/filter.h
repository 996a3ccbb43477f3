// Filter: which events a change-stream subscriber receives (the original
// system's query parameters, same semantics):
//   types       comma list of exact type names; empty = every type
//   key_prefix  keep events whose data.key is a string starting with it;
//               events without data.key (vectors, documents) are dropped
//   collection  keep events whose data.collection equals it; events without
//               data.collection (KV) are dropped
// All given conditions must hold. An empty filter matches everything.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "stream/frame.h"

namespace kissvdb::stream {

class Filter {
 public:
  // Matches everything. Delegates so that its key() equals that of every
  // other empty filter (found by tests/fuzz/stream_filter_fuzz.cc).
  Filter() : Filter("", "", "") {}
  // `types_csv` is split on commas; blanks around names and empty names are
  // ignored, duplicates removed.
  Filter(std::string_view types_csv, std::string key_prefix, std::string collection);

  bool empty() const { return types_.empty() && key_prefix_.empty() && collection_.empty(); }
  const std::vector<std::string>& types() const { return types_; }
  const std::string& key_prefix() const { return key_prefix_; }
  const std::string& collection() const { return collection_; }

  bool Matches(const EventFields& fields) const;

  // An unambiguous text form: equal filters have equal keys (the dispatcher
  // shares one rendered chunk among subscribers with equal filters).
  const std::string& key() const { return key_; }

 private:
  std::vector<std::string> types_;  // sorted, unique
  std::string key_prefix_;
  std::string collection_;
  std::string key_;
};

}  // namespace kissvdb::stream
