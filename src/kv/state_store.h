// StateStore: the KV model materialized in LMDB.
//
// Named databases:
//   "state"      key -> u64le revision | u64le expires_at_ms (0 = none) |
//                       [u8 n | n bytes of VersionHeads] | value JSON text
//                The heads are there when bit 63 of the revision field is set
//                (history on, history format 2: kv/state_history.h); a
//                record without them is the format every older build wrote.
//   "state_ttl"  u64be expires_at_ms | key -> "" (the sweeper's to-do list, in expiry order)
// Both are written only by Apply* on the commit thread, from events, so the
// contents are a pure function of the log (docs/storage-layout.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv/lmdb.h"

namespace kissvdb::kv {

// A stored record; value_json points into LMDB memory (valid for the txn).
struct StateRecordView {
  uint64_t revision = 0;
  uint64_t expires_at_ms = 0;  // 0 = no TTL
  std::string_view value_json;
  std::string_view heads;  // encoded VersionHeads; empty when none

  bool ExpiredAt(uint64_t now_ms) const { return expires_at_ms != 0 && expires_at_ms <= now_ms; }
};

// An owned copy, for results that outlive the transaction.
struct StateRecord {
  std::string key;
  uint64_t revision = 0;
  uint64_t expires_at_ms = 0;
  std::string value_json;
};

class StateStore {
 public:
  // Opens (creating) the named databases inside `txn` (a write txn at boot).
  static Result<StateStore> Open(Txn& txn);

  Result<std::optional<StateRecordView>> Get(const Txn& txn, std::string_view key) const;

  // Live (unexpired at now_ms) records with the prefix, in key order,
  // strictly after `after` when it is non-empty.
  Status List(const Txn& txn, std::string_view prefix, std::string_view after, uint32_t limit,
              uint64_t now_ms, std::vector<StateRecord>* out) const;

  // Up to `limit` keys whose expiry is <= now_ms, oldest first.
  Status Expired(const Txn& txn, uint64_t now_ms, uint32_t limit,
                 std::vector<std::pair<std::string, uint64_t>>* out) const;

  // Apply: set a key's full record (replacing its TTL entry), or remove it.
  Status ApplyPut(Txn& txn, std::string_view key, uint64_t revision, uint64_t expires_at_ms,
                  std::string_view value_json);
  Status ApplyDelete(Txn& txn, std::string_view key);
  // ApplyPut through a cursor on the state table (OpenCursor, in the same
  // write transaction): one B+tree search per put instead of two, and none
  // while puts in ascending key order stay on one leaf. Same result.
  Result<Cursor> OpenCursor(const Txn& txn) const { return Cursor::Open(txn, state_); }
  Status ApplyPut(Txn& txn, Cursor& cursor, std::string_view key, uint64_t revision, uint64_t expires_at_ms,
                  std::string_view value_json);

  // The parts the history builds on (kv/state_history.h). Find positions
  // `cursor` on key's record and returns it (valid until the next write).
  // Write stores key's record through the cursor, with `heads` (encoded;
  // empty for none); `old_expires_at_ms` is the TTL of the record it
  // replaces (0: none, or no record). Erase removes the record the cursor
  // is on, which Find returned, and its TTL entry.
  Result<std::optional<StateRecordView>> Find(Cursor& cursor, std::string_view key) const;
  Status Write(Txn& txn, Cursor& cursor, std::string_view key, uint64_t old_expires_at_ms, uint64_t revision,
               uint64_t expires_at_ms, std::string_view value_json, std::string_view heads);
  Status Erase(Txn& txn, Cursor& cursor, std::string_view key, uint64_t expires_at_ms);
  // A stored record as Get returns it; nullopt when it is malformed.
  static std::optional<StateRecordView> Decode(std::string_view raw);
  MDB_dbi state_dbi() const { return state_; }

 private:
  StateStore(MDB_dbi state, MDB_dbi ttl) : state_(state), ttl_(ttl) {}
  static std::string TtlKey(uint64_t expires_at_ms, std::string_view key);
  MDB_dbi state_;
  MDB_dbi ttl_;
};

}  // namespace kissvdb::kv
