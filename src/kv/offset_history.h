// OffsetHistory: the versions of a model's items appended by offset, found
// from each item's heads (history format 2, docs/history.md). The heads,
// the offsets of an item's 16 newest versions (kv/version_heads.h), live in
// the item's present record, a leaf every write of the item touches anyway,
// or, for an item that has no present record (deleted), in a small table of
// their own. The model's own history (kv/state_history.h,
// doc/doc_history.h) writes records and heads; reads, listings at an
// offset, pruning and the horizon are here.
//
//   <versions>  be64(offset) key -> u8 kind (0 put, 1 deleted, 2 expired,
//                   3 dropped) | varint offset - prev | varint offset - skip |
//                   varint ts_ms | varint revision | varint expires_at_ms |
//                   value JSON (puts)
//               prev: the item's previous version (a distance of 0: none);
//               skip: its version 16 before (0: fewer). The entry whose key
//               is 8 zero bytes (no event has offset 0) holds u64le: the
//               horizon.
//   <deleted>   key -> encoded VersionHeads of an item without a present
//               record
//
// A read at `at` binary-searches the heads and reads one version; below the
// oldest head it jumps 16 versions per lookup, then walks prev. Pruning
// deletes versions, never rewrites them: a lookup that finds no entry below
// the horizon is the end of the item's kept history.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv/history.h"
#include "kv/lmdb.h"
#include "kv/version_heads.h"

namespace kissvdb::kv {

class OffsetHistory {
 public:
  // The horizon of a history that keeps nothing (history_retention=off).
  static constexpr uint64_t kOff = UINT64_MAX;
  enum Kind : uint8_t { kPut = 0, kDeleted = 1, kExpired = 2, kDropped = 3 };
  static Kind KindOf(DeleteReason reason);
  // The heads in a present record (none: empty); Corruption if malformed.
  using HeadsOfRecord = Status (*)(std::string_view record, VersionHeads* heads);
  // The key of the version of `key` at `offset`.
  static std::string VersionKey(uint64_t offset, std::string_view key);

  // The first offset whose versions are all kept.
  Result<uint64_t> Horizon(const Txn& txn) const;
  Status SetHorizon(Txn& txn, uint64_t horizon) const;
  // Deletes every version and the deleted items' heads (records keep
  // theirs, which a seed rewrites).
  Status Clear(Txn& txn) const;

  // Pruning to `horizon`, in batches: keeps every version at or after it
  // and, per item, the newest version before it if that is a put (a read at
  // the horizon needs it). Collect walks the versions in offset order from
  // `*from` ("" = the first), up to the horizon, in any transaction, a
  // read-only one so writers go on, and appends what to delete, stopping
  // after about `max_visits` versions; *from is then where the next batch
  // starts, "" when the walk is done. The set stays right until the horizon
  // is written: new versions come after the applied offset, and the horizon
  // is never above it. Prune writes the horizon and deletes them, in one
  // write transaction, so a reader sees the versions or a horizon above its
  // offset: a right answer or 410, never a wrong one. An item whose versions
  // are all before the horizon and end with a deletion loses its heads too.
  Status CollectPrunable(const Txn& txn, uint64_t horizon, uint32_t max_visits, std::string* from,
                         std::vector<std::string>* doomed) const;
  Status Prune(Txn& txn, uint64_t horizon, const std::vector<std::string>& doomed) const;

  // Versions kept and the bytes of their tables' pages.
  struct Space {
    uint64_t versions = 0;
    uint64_t bytes = 0;
  };
  Result<Space> Usage(const Txn& txn) const;

  // The newest version of `key` with offset <= at, if any.
  Result<std::optional<Version>> At(const Txn& txn, std::string_view key, uint64_t at) const;
  // The items starting with `prefix` and after `after` (all when empty),
  // in key order, whose newest version with offset <= at is a put that
  // `visible` accepts (the caller judges TTLs), with that version; at most
  // limit. Merges the present table with the deleted items' heads.
  struct KeyVersion {
    std::string key;
    Version version;
  };
  using Visible = std::function<bool(const Version&)>;
  Status ListAt(const Txn& txn, std::string_view prefix, std::string_view after, uint64_t at, uint32_t limit,
                const Visible& visible, std::vector<KeyVersion>* out) const;
  // Versions of `key` with offset < before, newest first, at most limit.
  Status Versions(const Txn& txn, std::string_view key, uint64_t before, uint32_t limit,
                  std::vector<Version>* out) const;

 protected:
  OffsetHistory(MDB_dbi present, HeadsOfRecord heads_of_record, MDB_dbi versions, MDB_dbi deleted)
      : present_(present), heads_of_record_(heads_of_record), versions_(versions), deleted_(deleted) {}
  struct Tables {
    MDB_dbi versions;
    MDB_dbi deleted;
  };
  static Result<Tables> OpenTables(Txn& txn, const char* versions_name, const char* deleted_name);

  // At open: a history without a horizon is new. It converts the format 1
  // table `format1` (kv/format1_history.h) if there is one, giving each
  // item's heads to `attach` (which stores them in the item's present
  // record and returns true, or returns false: the item has none, and the
  // heads go to the deleted table); otherwise its horizon is 1 in a
  // directory that has applied nothing, else kOff until the engine seeds it.
  using Attach = std::function<Result<bool>(const std::string& key, const VersionHeads& heads)>;
  Status OpenOrConvert(Txn& txn, const char* format1, uint64_t applied_offset, const Attach& attach);

  // Appends the version after `heads` (prev and skip from them) and adds
  // its offset to them.
  Status Append(Cursor& versions, std::string_view key, uint64_t offset, VersionHeads* heads, uint64_t ts_ms,
                uint64_t revision, uint64_t expires_at_ms, Kind kind, std::string_view value_json) const;
  static void EncodeEntry(std::string* out, uint64_t offset, uint64_t prev, uint64_t skip, uint64_t ts_ms,
                          uint64_t revision, uint64_t expires_at_ms, Kind kind, std::string_view value_json);
  // The heads of an item without a present record, if any; `erase` removes
  // them (the item is being written again).
  Status DeletedHeads(Txn& txn, std::string_view key, bool erase, VersionHeads* heads) const;
  Status SetDeletedHeads(Txn& txn, std::string_view key, const VersionHeads& heads) const;
  Status ClearDeleted(Txn& txn) const;
  static Status DecodeHeads(std::string_view encoded, VersionHeads* heads);

  MDB_dbi versions() const { return versions_; }

 private:
  // An item's heads, from its present record or the deleted table; *live
  // says which.
  Status HeadsOf(const Txn& txn, std::string_view key, VersionHeads* heads, bool* live) const;
  // The newest version of `key` with offset <= at, from its heads.
  struct Found {
    VersionHeads heads;
    bool live = false;        // the heads are in a present record
    uint64_t offset = 0;      // 0: none
    std::string_view entry;   // empty: none, or pruned
  };
  Status Find(const Txn& txn, std::string_view key, uint64_t at, Found* found) const;
  // The same from heads already read: its offset (0: none) and entry (empty
  // when pruned).
  Status Locate(const Txn& txn, std::string_view key, const VersionHeads& heads, uint64_t at, uint64_t* offset,
                std::string_view* entry) const;

  MDB_dbi present_;
  HeadsOfRecord heads_of_record_;
  MDB_dbi versions_;
  MDB_dbi deleted_;
};

}  // namespace kissvdb::kv
