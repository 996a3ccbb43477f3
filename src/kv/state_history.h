// StateHistory: every version of every KV key (history format 2,
// docs/history.md), written with the key's state in the same LMDB
// transaction. Versions are appended in offset order, so history costs a
// put almost nothing; a read at an offset finds its version from the key's
// heads, the offsets of its 16 newest versions, which live in the key's
// state record (a leaf every put writes anyway), or, for a deleted key, in
// a small table of its own.
//
//   state_versions       be64(offset) key -> u64le prev | u64le skip |
//                            u64le ts_ms | u64le revision | u64le expires_at_ms |
//                            u8 kind (0 put, 1 deleted, 2 expired) | value JSON (puts)
//                        prev: the key's previous version (0: none); skip: the
//                        version 16 before (0: not known). The entry with the
//                        key of 8 zero bytes holds u64le: the horizon.
//   state_heads_deleted  key -> VersionHeads of a key that has no state record
//   state (StateStore)   key -> record with VersionHeads (kv/state_store.h)
//
// A read at `at` binary-searches the heads and reads one version; below the
// oldest head, it jumps 16 versions per lookup, then walks prev. Pruning
// deletes versions, never rewrites them: a lookup that finds no entry below
// the horizon is the end of the key's kept history.
//
// Format 1 kept KV versions by (key, offset) in `state_history`
// (kv/version_history.h); Open converts such a table once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv/history.h"
#include "kv/lmdb.h"
#include "kv/state_store.h"
#include "kv/version_heads.h"

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

class StateHistory : public History {
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

  // History (kv/history.h).
  Result<uint64_t> Horizon(const Txn& txn) const override;
  Status SetHorizon(Txn& txn, uint64_t horizon) const override;
  Status Clear(Txn& txn) const override;
  // Collect walks the versions in offset order, up to the horizon.
  Status CollectPrunable(const Txn& txn, uint64_t horizon, uint32_t max_visits, std::string* from,
                         std::vector<std::string>* doomed) const override;
  Status Prune(Txn& txn, uint64_t horizon, const std::vector<std::string>& doomed) const override;
  Result<Space> Usage(const Txn& txn) const override;
  Result<std::optional<Version>> At(const Txn& txn, std::string_view key, uint64_t at) const override;
  // Merges the state table with the deleted keys' heads, in key order.
  Status ListAt(const Txn& txn, std::string_view prefix, std::string_view after, uint64_t at, uint32_t limit,
                const Visible& visible, std::vector<KeyVersion>* out) const override;
  Status Versions(const Txn& txn, std::string_view key, uint64_t before, uint32_t limit,
                  std::vector<Version>* out) const override;

 private:
  StateHistory(const StateStore& state, MDB_dbi versions, MDB_dbi deleted)
      : state_(state), versions_(versions), deleted_(deleted) {}
  // Format 1 -> 2: every version of `old`, heads into the state records.
  Status Convert(Txn& txn, MDB_dbi old);
  // Key's heads, from its state record or the deleted keys' table; *live
  // says which.
  Status HeadsOf(const Txn& txn, std::string_view key, VersionHeads* heads, bool* live) const;
  // The newest version of `key` with offset <= at: its offset (0: none) and
  // entry (empty when pruned).
  Status Locate(const Txn& txn, std::string_view key, const VersionHeads& heads, uint64_t at, uint64_t* offset,
                std::string_view* entry) const;
  // Appends the version after `heads` (prev and skip from them) and adds it.
  Status AppendVersion(Cursor& versions, std::string_view key, uint64_t offset, VersionHeads* heads,
                       uint64_t ts_ms, uint64_t revision, uint64_t expires_at_ms, uint8_t kind,
                       std::string_view value_json) const;
  StateStore state_;
  MDB_dbi versions_;
  MDB_dbi deleted_;
};

}  // namespace kissvdb::kv
