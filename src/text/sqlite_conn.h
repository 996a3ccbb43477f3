// SqliteConn: one SQLite connection of the text index, with a cache of
// prepared statements. Not the user's SQL database (src/sql/): no
// authorizer, no policy; only the text index's own statements run here.
//
// Thread-safety: none. A connection is used by one thread at a time (the
// index's writer under its mutex, readers through a pool).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "kissvdb/status.h"

namespace kissvdb::text {

class SqliteConn;

// A prepared statement borrowed from its connection's cache; reset (and
// its bindings cleared) when it goes out of scope.
class Stmt {
 public:
  Stmt(Stmt&& other) noexcept : conn_(other.conn_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Stmt(const Stmt&) = delete;
  ~Stmt();

  // Binding errors surface at Step().
  Stmt& Bind(int index, std::string_view text);
  Stmt& Bind(int index, int64_t value);
  // true: a row is ready; false: done. Errors name the statement.
  Result<bool> Step();
  // Steps to the end (a statement that returns no rows).
  Status Run();

  std::string_view Text(int column) const;
  int64_t Int(int column) const;
  double Double(int column) const;

 private:
  friend class SqliteConn;
  Stmt(SqliteConn* conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  SqliteConn* conn_;
  sqlite3_stmt* stmt_;
};

class SqliteConn {
 public:
  // Opens (creating) the database file, in WAL mode with synchronous=NORMAL:
  // a commit is not fsynced (the log is the durable copy); Checkpoint()
  // makes everything committed so far durable. A read-only connection needs
  // the file to exist and refuses writes (query_only).
  static Result<std::unique_ptr<SqliteConn>> Open(const std::string& path, bool read_only);
  ~SqliteConn();
  SqliteConn(const SqliteConn&) = delete;
  SqliteConn& operator=(const SqliteConn&) = delete;

  Status Exec(const std::string& sql);
  // The cached statement for `sql` (prepared on first use).
  Result<Stmt> Prepare(const std::string& sql);
  // Finalizes every cached statement (after schema changes).
  void ClearCache();
  int64_t LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
  // Copies the WAL into the database file and syncs it.
  Status Checkpoint();

  // Corruption for SQLITE_CORRUPT / SQLITE_NOTADB, InsufficientStorage for
  // SQLITE_FULL, SqliteError for SQLITE_ERROR (bad SQL or FTS5 query), else
  // PersistenceError; the message names `what` and SQLite's message.
  Status Error(std::string_view what, int rc) const;

 private:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

}  // namespace kissvdb::text
