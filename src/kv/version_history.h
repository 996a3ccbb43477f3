// VersionHistory: every version of every item of a model, kept by (key,
// offset), so a read can answer as of any retained offset (docs/history.md).
// Derived from the model's events like the model itself, in the same LMDB
// transaction. One table per model:
//
//   state_history  key -> versions of a KV key
//   doc_history    collection 00 id -> versions of a document
//
//   escape(key) 00 01 be64(offset) ->
//       u64le ts_ms | u64le revision | u64le expires_at_ms |
//       u8 kind (0 put, 1 deleted explicitly, 2 expired, 3 collection dropped) |
//       value JSON (puts)
//   escape: byte 00 -> 00 FF, so a key's versions sort together, by offset,
//   and keys keep their order. The entry FF FF "horizon" (no UTF-8 key starts
//   with FF) holds u64le: the first offset whose versions are all here
//   (kOff: none are kept).
//
// Pruning to a horizon H (Prune) keeps every version at or after H and, per
// key, the newest version before H if it is a put (a read at H needs it);
// it deletes the rest. The horizon is written in the same transaction as
// the deletions, so a reader, whose snapshot has both, either sees the
// versions or a horizon above its offset: a right answer or 410, never a
// wrong one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kissvdb/status.h"
#include "kv/lmdb.h"

namespace kissvdb::kv {

struct Version {
  uint64_t offset = 0;
  uint64_t ts_ms = 0;
  uint64_t revision = 0;  // 0 for a deletion
  uint64_t expires_at_ms = 0;
  bool deleted = false;
  std::string reason;  // deletions: "explicit", "ttl" or "drop"
  std::string value_json;
};

enum class DeleteReason { kExplicit, kTtl, kDrop };

class VersionHistory {
 public:
  // The horizon of a history that keeps nothing (history_retention=off).
  static constexpr uint64_t kOff = UINT64_MAX;

  // Opens (creating) the table `name`. A table created now in an
  // environment that has applied events holds no version of the present:
  // its horizon is kOff until the caller seeds it.
  static Result<VersionHistory> Open(Txn& txn, const char* name, uint64_t applied_offset);

  Status ApplyPut(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, uint64_t revision,
                  uint64_t expires_at_ms, std::string_view value_json) const;
  Status ApplyDelete(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, DeleteReason reason) const;
  // ApplyPut through a cursor on the table (OpenCursor, in the same write
  // transaction): versions written in (key, offset) order find their leaf
  // without a search from the root while they stay on one page.
  Result<Cursor> OpenCursor(const Txn& txn) const { return Cursor::Open(txn, dbi_); }
  Status ApplyPut(Cursor& cursor, std::string_view key, uint64_t offset, uint64_t ts_ms, uint64_t revision,
                  uint64_t expires_at_ms, std::string_view value_json) const;

  // The first offset whose versions are all kept.
  Result<uint64_t> Horizon(const Txn& txn) const;
  Status SetHorizon(Txn& txn, uint64_t horizon) const;
  // Deletes every version and the horizon (the table stays).
  Status Clear(Txn& txn) const;

  // Pruning to `horizon`, in batches (see above). Collect walks the keys
  // from the table position `*from` ("" = the first key) in any
  // transaction, a read-only one so writers go on, and appends the versions
  // to delete, stopping at a key boundary after about `max_visits` versions;
  // *from is then where the next batch starts, "" when the walk is done.
  // The set stays right until the horizon is written: new versions come
  // after the applied offset, and the horizon is never above it. Delete
  // writes the horizon and deletes them, in one write transaction.
  Status CollectPrunable(const Txn& txn, uint64_t horizon, uint32_t max_visits, std::string* from,
                         std::vector<std::string>* doomed) const;
  Status Prune(Txn& txn, uint64_t horizon, const std::vector<std::string>& doomed) const;

  // Versions kept and the bytes of the table's pages.
  struct Space {
    uint64_t versions = 0;
    uint64_t bytes = 0;
  };
  Result<Space> Usage(const Txn& txn) const;
  // The newest version of `key` with offset <= at, if any.
  Result<std::optional<Version>> At(const Txn& txn, std::string_view key, uint64_t at) const;
  // The keys starting with `prefix` and after `after` (all when empty), in
  // key order, whose newest version with offset <= at is a put that
  // `visible` accepts (the caller judges TTLs), with that version; at most
  // limit. Each key costs a few seeks, whatever its number of versions.
  struct KeyVersion {
    std::string key;
    Version version;
  };
  template <typename Visible>
  Status ListAt(const Txn& txn, std::string_view prefix, std::string_view after, uint64_t at, uint32_t limit,
                const Visible& visible, std::vector<KeyVersion>* out) const;

  // Versions of `key` with offset < before, newest first, at most limit.
  Status Versions(const Txn& txn, std::string_view key, uint64_t before, uint32_t limit,
                  std::vector<Version>* out) const;

 private:
  explicit VersionHistory(MDB_dbi dbi) : dbi_(dbi) {}
  // ListAt's walk: positions `cursor` on the first version entry at or after
  // `from` and names its key; false past the last key.
  static bool KeyOfEntry(std::string_view entry, std::string* key);
  Status NewestAt(Cursor& cursor, std::string_view key, uint64_t at, std::optional<Version>* out) const;
  static std::string AfterAllVersions(std::string_view key);
  static std::string EscapedStart(std::string_view prefix);
  MDB_dbi dbi_;
};

template <typename Visible>
Status VersionHistory::ListAt(const Txn& txn, std::string_view prefix, std::string_view after, uint64_t at,
                            uint32_t limit, const Visible& visible, std::vector<KeyVersion>* out) const {
  auto cursor = Cursor::Open(txn, dbi_);
  if (!cursor.ok()) return cursor.status();
  std::string from = EscapedStart(prefix);
  if (!after.empty()) from = std::max(from, AfterAllVersions(after));
  std::string key;
  // LMDB has no empty key to seek to: the start of the table is First().
  while (out->size() < limit && (from.empty() ? cursor->First() : cursor->Seek(from)) &&
         KeyOfEntry(cursor->key(), &key)) {
    if (key.compare(0, prefix.size(), prefix) != 0) break;  // past the prefix's keys
    std::optional<Version> v;
    KISSVDB_RETURN_IF_ERROR(NewestAt(*cursor, key, at, &v));
    if (v.has_value() && !v->deleted && visible(*v)) out->push_back(KeyVersion{key, std::move(*v)});
    from = AfterAllVersions(key);
  }
  return Status::OK();
}

}  // namespace kissvdb::kv
