#include "doc/db_cursor.h"

namespace kissvdb::doc {

Result<DbCursor> DbCursor::Open(const kv::Txn& txn, MDB_dbi dbi) {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(txn.get(), dbi, &c);
  if (rc != 0) return kv::LmdbStatus("mdb_cursor_open", rc);
  return DbCursor(c);
}

DbCursor::DbCursor(DbCursor&& other) noexcept
    : cursor_(other.cursor_), key_(other.key_), value_(other.value_), status_(std::move(other.status_)) {
  other.cursor_ = nullptr;
}

DbCursor::~DbCursor() {
  if (cursor_ != nullptr) mdb_cursor_close(cursor_);
}

bool DbCursor::Step(MDB_cursor_op op) {
  int rc = mdb_cursor_get(cursor_, &key_, &value_, op);
  if (rc == 0) return true;
  if (rc != MDB_NOTFOUND && status_.ok()) status_ = kv::LmdbStatus("mdb_cursor_get", rc);
  key_ = MDB_val{0, nullptr};
  value_ = MDB_val{0, nullptr};
  return false;
}

bool DbCursor::First() { return Step(MDB_FIRST); }

bool DbCursor::Seek(std::string_view key) {
  if (key.empty()) return First();  // LMDB rejects zero-length keys
  key_ = kv::ToVal(key);
  return Step(MDB_SET_RANGE);
}

bool DbCursor::SeekBefore(std::string_view key) {
  if (key.empty()) return false;
  key_ = kv::ToVal(key);
  if (Step(MDB_SET_RANGE)) return Step(MDB_PREV);
  return status_.ok() && Step(MDB_LAST);
}

bool DbCursor::Next() { return Step(MDB_NEXT); }
bool DbCursor::Prev() { return Step(MDB_PREV); }

Status DbCursor::Del() {
  int rc = mdb_cursor_del(cursor_, 0);
  return rc == 0 ? Status::OK() : kv::LmdbStatus("mdb_cursor_del", rc);
}

}  // namespace kissvdb::doc
