// Thin RAII wrappers over LMDB: an environment, transactions, cursors.
//
// LMDB holds the materialized state (KV, documents, the applied log offset).
// It is a cache of the log, not the source of truth: the environment is
// opened with MDB_NOSYNC because every committed change is already durable in
// the WAL; the checkpointer calls Sync() before it records an offset as safe.
// Only the engine's commit thread opens write transactions; any thread may
// open read transactions (MDB_NOTLS).
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "kissvdb/status.h"

namespace kissvdb::kv {

Status LmdbStatus(std::string_view what, int rc);

inline MDB_val ToVal(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view FromVal(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

class LmdbEnv {
 public:
  struct Options {
    std::string path;                 // a file (MDB_NOSUBDIR); "<path>-lock" beside it
    uint64_t map_size = 64ull << 30;  // address space reservation, grows the file lazily
    unsigned max_dbs = 32;
    unsigned max_readers = 1024;
  };
  static Result<std::unique_ptr<LmdbEnv>> Open(const Options& options);
  ~LmdbEnv();
  LmdbEnv(const LmdbEnv&) = delete;
  LmdbEnv& operator=(const LmdbEnv&) = delete;

  MDB_env* get() const { return env_; }
  // Flushes the data file to disk (fsync).
  Status Sync();

 private:
  explicit LmdbEnv(MDB_env* env) : env_(env) {}
  MDB_env* env_;
};

class Txn {
 public:
  // Read-only or read-write; a write transaction may have a parent (nested
  // transaction: its changes are undone by Abort without touching the parent).
  static Result<Txn> Begin(const LmdbEnv& env, bool read_only, Txn* parent = nullptr);
  Txn(Txn&& other) noexcept : txn_(other.txn_) { other.txn_ = nullptr; }
  Txn& operator=(Txn&& other) noexcept;
  ~Txn() { Abort(); }

  Status Commit();
  void Abort();
  MDB_txn* get() const { return txn_; }

  // Opens (creating in a write txn) a named database.
  Result<MDB_dbi> OpenDb(const char* name, unsigned flags = 0);

  // The value stays valid until the transaction ends or writes to `dbi`.
  Result<std::optional<std::string_view>> Get(MDB_dbi dbi, std::string_view key) const;
  Status Put(MDB_dbi dbi, std::string_view key, std::string_view value);
  // Returns whether the key existed.
  Result<bool> Del(MDB_dbi dbi, std::string_view key);

 private:
  explicit Txn(MDB_txn* txn) : txn_(txn) {}
  MDB_txn* txn_;
};

// Forward iteration in key order.
class Cursor {
 public:
  static Result<Cursor> Open(const Txn& txn, MDB_dbi dbi);
  Cursor(Cursor&& other) noexcept : cursor_(other.cursor_) { other.cursor_ = nullptr; }
  ~Cursor();

  // Positions at the first key >= `key`; false at the end.
  bool Seek(std::string_view key);
  // Positions at `key` exactly; false when it is absent.
  bool Find(std::string_view key);
  bool First();
  bool Last();
  bool Next();
  bool Prev();
  // Writes through a write transaction's cursor. Put stores key -> value.
  // Insert stores it only if the key is absent; otherwise it returns false
  // and leaves the cursor on the existing entry (value() is the old value,
  // valid until the next write). Keys written in ascending order find their
  // leaf without a search from the root while they stay on the cursor's
  // page (LMDB's shortcut in mdb_cursor_set).
  Status Put(std::string_view key, std::string_view value);
  Result<bool> Insert(std::string_view key, std::string_view value);
  // Put of a key above every key of the table (MDB_APPEND: no search, and
  // full pages); a key that is not falls back to a plain Put.
  Status Append(std::string_view key, std::string_view value);
  // Deletes the entry the cursor is on.
  Status Delete();
  std::string_view key() const { return FromVal(key_); }
  std::string_view value() const { return FromVal(value_); }

 private:
  explicit Cursor(MDB_cursor* c) : cursor_(c) {}
  bool Step(MDB_cursor_op op, std::string_view key = {});
  MDB_cursor* cursor_;
  MDB_val key_{0, nullptr};
  MDB_val value_{0, nullptr};
};

// Fixed-width integer encodings used in LMDB keys and values.
void PutU64LE(std::string* out, uint64_t v);
uint64_t GetU64LE(const char* p);
void PutU64BE(std::string* out, uint64_t v);  // big-endian sorts numerically
uint64_t GetU64BE(const char* p);
// be64(v) followed by `rest`: keys ordered by v, then by rest.
std::string U64BEThen(uint64_t v, std::string_view rest);

}  // namespace kissvdb::kv
