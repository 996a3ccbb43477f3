// Reading a `state_updated` record's payload without building a JSON tree.
//
// The log's payload is the compact dump of the event's data, object keys in
// order (wal::RecordEncoder), so a KV put always reads
//
//   {"expires_at_ms":<null|uint>,"key":"<key>","revision":<uint>,"value":<value>}
//
// and the text of <value> is exactly what the state store stores for it
// (DumpJson of the parsed value gives the same bytes). ReadStatePutRecord
// takes the fields from that layout; it returns false on anything else (a
// key with escapes, another member, numbers out of range), and the caller
// then parses the payload as JSON, so it decides speed, never meaning.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kv/state_history.h"

namespace kissvdb {

struct StatePutRecord {
  std::string_view key;    // views into the payload
  std::string_view value;  // JSON text
  uint64_t revision = 0;
  uint64_t expires_at_ms = 0;  // 0 for null
};

bool ReadStatePutRecord(std::string_view payload, StatePutRecord* out);

// KV puts read by a replay, kept (copied) until they are applied together
// in key order (Materializer::ApplyStatePuts): B+tree inserts in ascending
// order stay on the pages the previous one touched. Not movable: the sorted
// entries point into the batch's own bytes.
class StatePutBatch {
 public:
  StatePutBatch() = default;
  StatePutBatch(const StatePutBatch&) = delete;
  StatePutBatch& operator=(const StatePutBatch&) = delete;

  using Entry = kv::StatePut;  // key and value point into the batch
  void Add(uint64_t offset, uint64_t ts_ms, const StatePutRecord& put);
  bool empty() const { return items_.empty(); }
  size_t bytes() const { return bytes_.size(); }
  // The puts in (key, offset) order (sorted once, on the first call after
  // an Add); valid until the next Add or Clear.
  const std::vector<Entry>& Sorted();
  void Clear();

 private:
  struct Item {
    size_t at = 0;  // key then value in bytes_
    size_t key_size = 0;
    size_t value_size = 0;
    uint64_t offset = 0;
    uint64_t ts_ms = 0;
    uint64_t revision = 0;
    uint64_t expires_at_ms = 0;
  };
  std::string bytes_;
  std::vector<Item> items_;
  std::vector<Entry> sorted_;
};

}  // namespace kissvdb
