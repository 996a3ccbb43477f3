// DbCursor: an LMDB cursor that walks both ways and deletes, for the
// document store (index walks in descending order, collection drops).
// kv::Cursor stays the forward-only read cursor of the KV model.
#pragma once

#include <string_view>

#include "kv/lmdb.h"

namespace kissvdb::doc {

class DbCursor {
 public:
  static Result<DbCursor> Open(const kv::Txn& txn, MDB_dbi dbi);
  DbCursor(DbCursor&& other) noexcept;
  DbCursor& operator=(DbCursor&&) = delete;
  ~DbCursor();

  // Each positioning call returns whether the cursor is on a record; an
  // LMDB error other than "not found" also returns false and is kept in
  // status().
  bool First();
  bool Seek(std::string_view key);        // first key >= key (key non-empty)
  bool SeekBefore(std::string_view key);  // last key < key
  bool Next();
  bool Prev();
  // Deletes the record under the cursor (write transactions only).
  Status Del();

  std::string_view key() const { return kv::FromVal(key_); }
  std::string_view value() const { return kv::FromVal(value_); }
  const Status& status() const { return status_; }

 private:
  explicit DbCursor(MDB_cursor* c) : cursor_(c) {}
  bool Step(MDB_cursor_op op);
  MDB_cursor* cursor_;
  MDB_val key_{0, nullptr};
  MDB_val value_{0, nullptr};
  Status status_;
};

// True when `s` starts with `prefix`.
inline bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace kissvdb::doc
