// VersionHistory: every version of every document, kept by (key, offset),
// so a read can answer as of any retained offset (docs/history.md). Derived
// from the document events like the documents themselves, in the same LMDB
// transaction:
//
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
// KV keys used this layout up to format 1 of the history (table
// state_history); StateHistory converts such a table at boot
// (kv/state_history.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kissvdb/status.h"
#include "kv/history.h"
#include "kv/lmdb.h"

namespace kissvdb::kv {

class VersionHistory : public History {
 public:
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

  // History (kv/history.h).
  Result<uint64_t> Horizon(const Txn& txn) const override;
  Status SetHorizon(Txn& txn, uint64_t horizon) const override;
  Status Clear(Txn& txn) const override;  // the table stays
  // Collect walks keys from the table position `*from` and stops at a key
  // boundary.
  Status CollectPrunable(const Txn& txn, uint64_t horizon, uint32_t max_visits, std::string* from,
                         std::vector<std::string>* doomed) const override;
  Status Prune(Txn& txn, uint64_t horizon, const std::vector<std::string>& doomed) const override;
  Result<Space> Usage(const Txn& txn) const override;
  Result<std::optional<Version>> At(const Txn& txn, std::string_view key, uint64_t at) const override;
  // Each key costs a few seeks, whatever its number of versions.
  Status ListAt(const Txn& txn, std::string_view prefix, std::string_view after, uint64_t at, uint32_t limit,
                const Visible& visible, std::vector<KeyVersion>* out) const override;
  Status Versions(const Txn& txn, std::string_view key, uint64_t before, uint32_t limit,
                  std::vector<Version>* out) const override;

  // Every version, by key then offset (a conversion's walk).
  Status ForEach(const Txn& txn, const std::function<Status(const std::string& key, Version&& v)>& fn) const;

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

}  // namespace kissvdb::kv
