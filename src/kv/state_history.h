// StateHistory: every version of every KV key (history format 2,
// docs/history.md), written with the key's state in the same LMDB
// transaction: an OffsetHistory (kv/offset_history.h) whose heads live in
// the `state` records (kv/state_store.h).
//
//   state_versions       the versions, appended by offset
//   state_heads_deleted  the heads of keys that have no state record
//
// Format 1 kept KV versions by (key, offset) in `state_history`
// (kv/format1_history.h); Open converts such a table once.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "kv/history.h"
#include "kv/lmdb.h"
#include "kv/offset_history.h"
#include "kv/state_store.h"

namespace kissvdb::kv {

// One put of a key, as a replay applies runs of them.
struct StatePut {
  std::string_view key;
  std::string_view value;
  uint64_t offset = 0;
  uint64_t ts_ms = 0;
  uint64_t revision = 0;
  uint64_t expires_at_ms = 0;
};

class StateHistory : public OffsetHistory {
 public:
  // Opens (creating) the tables. A history created now in an environment
  // that has applied events holds no version of the present: its horizon
  // is kOff until the caller seeds it, unless a format 1 table is there to
  // convert.
  static Result<StateHistory> Open(Txn& txn, const StateStore& state, uint64_t applied_offset);

  // The state and its version change together: a put, a deletion, and a
  // run of puts in (key, offset) order (only the newest put per key reaches
  // the state record; every put becomes a version).
  Status Put(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, uint64_t revision,
             uint64_t expires_at_ms, std::string_view value_json);
  Status Delete(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, DeleteReason reason);
  Status PutSorted(Txn& txn, const std::vector<StatePut>& puts);
  // A version at `offset` of every key in the state table, which becomes
  // its only head (the start of a history that did not follow every event).
  Status Seed(Txn& txn, uint64_t offset, uint64_t ts_ms);

 private:
  StateHistory(const StateStore& state, const Tables& t)
      : OffsetHistory(state.state_dbi(), &RecordHeads, t.versions, t.deleted), state_(state) {}
  static Status RecordHeads(std::string_view record, VersionHeads* heads);
  // A key's heads before a put, from its record (whose TTL goes to
  // *old_expires, 0 for none) or the deleted keys' table (erased: the key
  // is written again).
  Status HeadsBefore(Txn& txn, Cursor& state, std::string_view key, VersionHeads* heads,
                     uint64_t* old_expires) const;
  StateStore state_;
};

}  // namespace kissvdb::kv
