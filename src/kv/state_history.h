// StateHistory: every version of every KV key, kept by (key, offset), so a
// read can answer as of any retained offset (docs/history.md). Derived from
// the state events like the state itself, in the same LMDB transaction.
//
//   state_history  escape(key) 00 01 be64(offset) ->
//                  u64le ts_ms | u64le revision | u64le expires_at_ms |
//                  u8 kind (0 put, 1 deleted explicitly, 2 expired) | value JSON (puts)
//   escape: byte 00 -> 00 FF, so a key's versions sort together, by offset,
//   and keys keep their order. The entry FF FF "horizon" (no UTF-8 key starts
//   with FF) holds u64le: the first offset whose versions are all here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kissvdb/status.h"
#include "kv/lmdb.h"

namespace kissvdb::kv {

struct StateVersion {
  uint64_t offset = 0;
  uint64_t ts_ms = 0;
  uint64_t revision = 0;  // 0 for a deletion
  uint64_t expires_at_ms = 0;
  bool deleted = false;
  std::string reason;  // deletions: "explicit" or "ttl"
  std::string value_json;
};

class StateHistory {
 public:
  // Opens (creating) the table. A table created now in an environment that
  // has applied events up to `applied_offset` starts its history after it.
  static Result<StateHistory> Open(Txn& txn, uint64_t applied_offset);

  Status ApplyPut(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, uint64_t revision,
                  uint64_t expires_at_ms, std::string_view value_json) const;
  Status ApplyDelete(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, bool expired) const;

  // The first offset whose versions are all kept.
  Result<uint64_t> Horizon(const Txn& txn) const;
  // The newest version of `key` with offset <= at, if any.
  Result<std::optional<StateVersion>> At(const Txn& txn, std::string_view key, uint64_t at) const;
  // Versions of `key` with offset < before, newest first, at most limit.
  Status Versions(const Txn& txn, std::string_view key, uint64_t before, uint32_t limit,
                  std::vector<StateVersion>* out) const;

 private:
  explicit StateHistory(MDB_dbi dbi) : dbi_(dbi) {}
  MDB_dbi dbi_;
};

}  // namespace kissvdb::kv
