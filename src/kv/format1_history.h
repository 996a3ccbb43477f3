// Format1History: the history tables of history format 1, which builds
// before 2026-12-07 wrote (`state_history`, `doc_history`): every version
// kept by (key, offset). Format 2 (kv/offset_history.h) converts such a
// table once, at boot, reading it with ForEach; the tests write one with
// ApplyPut/ApplyDelete, as those builds did.
//
//   escape(key) 00 01 be64(offset) ->
//       u64le ts_ms | u64le revision | u64le expires_at_ms |
//       u8 kind (0 put, 1 deleted explicitly, 2 expired, 3 collection dropped) |
//       value JSON (puts)
//   escape: byte 00 -> 00 FF, so a key's versions sort together, by offset,
//   and keys keep their order. The entry FF FF "horizon" (no UTF-8 key starts
//   with FF) holds u64le: the first offset whose versions are all here
//   (all ones: none are kept).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "kissvdb/status.h"
#include "kv/history.h"
#include "kv/lmdb.h"

namespace kissvdb::kv {

class Format1History {
 public:
  // Opens (creating) the table `name`; a new table gets the horizon 1.
  static Result<Format1History> Open(Txn& txn, const char* name);

  Status ApplyPut(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, uint64_t revision,
                  uint64_t expires_at_ms, std::string_view value_json) const;
  Status ApplyDelete(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, DeleteReason reason) const;

  Result<uint64_t> Horizon(const Txn& txn) const;
  Status SetHorizon(Txn& txn, uint64_t horizon) const;
  // Every version, by key then offset.
  Status ForEach(const Txn& txn, const std::function<Status(const std::string& key, Version&& v)>& fn) const;

 private:
  explicit Format1History(MDB_dbi dbi) : dbi_(dbi) {}
  // The key of a version entry; false for the horizon entry.
  static bool KeyOfEntry(std::string_view entry, std::string* key);
  MDB_dbi dbi_;
};

}  // namespace kissvdb::kv
