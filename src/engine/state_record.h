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
#include <string_view>

namespace kissvdb {

struct StatePutRecord {
  std::string_view key;    // views into the payload
  std::string_view value;  // JSON text
  uint64_t revision = 0;
  uint64_t expires_at_ms = 0;  // 0 for null
};

bool ReadStatePutRecord(std::string_view payload, StatePutRecord* out);

}  // namespace kissvdb
