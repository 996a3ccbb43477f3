// Connection: one SQLite connection with KissVDB's settings, the safety
// authorizer, a per-statement time limit and a prepared-statement cache.
//
// A Connection is used by one thread at a time (SqlDatabase hands it out
// under a lock), so it is opened SQLITE_OPEN_NOMUTEX and nothing in it is
// synchronized.
//
// The cache holds up to `statement_cache_size` prepared statements keyed by
// their exact SQL text. Prepare() checks a statement out of the cache (or
// prepares it); the returned Statement puts it back, reset and with its
// bindings cleared, when it goes out of scope. What the authorizer reported
// at prepare time (tables written, schema changes) is kept with it, because
// a cached statement is not authorized again.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <list>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kissvdb/status.h"
#include "sql/policy.h"
#include "sql/sql_database.h"

namespace kissvdb::sql {

// The Status for SQLite result code `rc` on `db` (message, code name and
// extended code; see sql_database.h for the Code mapping).
Status SqliteStatus(sqlite3* db, int rc, std::string_view context = {});

class Connection {
 public:
  enum class Mode { kReadWrite, kReadOnly };

  // Opens `options.path`. kReadWrite creates the file and sets WAL mode and
  // synchronous; kReadOnly opens with SQLITE_OPEN_READONLY.
  static Result<std::unique_ptr<Connection>> Open(const SqlOptions& options, Mode mode);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  class Statement;

  // Prepares `sql`, which must hold exactly one statement (trailing
  // whitespace, semicolons and comments are fine). InvalidArgument when it is
  // empty, holds more, or the policy refuses it; kSqliteError on a syntax or
  // schema error.
  Result<Statement> Prepare(std::string_view sql);

  // Steps once under the statement time limit started by StartTimer().
  // Returns true for a row, false when done, or the error.
  Result<bool> Step(Statement& stmt);

  // Adds what the authorizer reported while `stmt` ran (SQLite re-prepares
  // a statement after a schema change, which authorizes it again) to what it
  // reported at prepare time. Call after the last Step.
  void RecordSeen(Statement& stmt);

  // The time limit covers everything from StartTimer() to StopTimer().
  // With `give_up_at`, the statement is also interrupted at that moment, and
  // gave_up() says so (the caller runs it again elsewhere, without that).
  void StartTimer(std::optional<std::chrono::steady_clock::time_point> give_up_at = std::nullopt);
  void StopTimer();
  bool gave_up() const { return gave_up_; }

  // Runs BEGIN IMMEDIATE / COMMIT / ROLLBACK (the authorizer refuses these
  // from clients).
  Status Control(const char* sql);

  // The main database's schema cookie (PRAGMA schema_version): it changes
  // whenever the schema does. -1 on error.
  int64_t SchemaVersion();

  // True while a transaction is open (not in autocommit mode).
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

  sqlite3* db() const { return db_; }

 private:
  struct Cached {
    std::string sql;
    sqlite3_stmt* stmt = nullptr;
    std::vector<std::string> tables;  // user tables written / re-shaped
    bool schema_change = false;
    bool readonly = false;
    bool vacuum = false;  // plain VACUUM (see AuthMode::kVacuum)
    ~Cached();
  };

 public:
  // A prepared statement checked out of the connection's cache. Move-only;
  // must not outlive its Connection.
  class Statement {
   public:
    Statement(Statement&& other) noexcept = default;
    Statement& operator=(Statement&& other) = delete;
    ~Statement();

    sqlite3_stmt* get() const { return entry_->stmt; }
    // sqlite3_stmt_readonly: the statement does not write the database.
    bool readonly() const { return entry_->readonly; }
    // User tables (database "main") it inserts into, updates, deletes from,
    // creates, drops or alters, sorted.
    const std::vector<std::string>& tables() const { return entry_->tables; }
    bool schema_change() const { return entry_->schema_change; }

   private:
    friend class Connection;
    Statement(Connection* conn, std::unique_ptr<Cached> entry) : conn_(conn), entry_(std::move(entry)) {}
    Connection* conn_ = nullptr;
    std::unique_ptr<Cached> entry_;
  };

 private:
  Connection(sqlite3* db, const SqlOptions& options);
  Status Configure(const SqlOptions& options, Mode mode);
  // The Status for a failed prepare/step, using what the authorizer and the
  // progress handler recorded.
  Status ErrorStatus(int rc) const;
  void Return(std::unique_ptr<Cached> entry);

  static int OnAuthorize(void* self, int action, const char* a1, const char* a2, const char* db, const char* trigger);
  static int OnProgress(void* self);

  sqlite3* db_;
  std::string reserved_prefix_;
  uint32_t timeout_ms_;
  size_t cache_capacity_;

  // Statement time limit.
  bool timer_active_ = false;
  bool timed_out_ = false;
  std::chrono::steady_clock::time_point deadline_;
  std::optional<std::chrono::steady_clock::time_point> give_up_at_;
  bool gave_up_ = false;

  // Authorizer state for the statement being prepared or run.
  AuthMode auth_mode_ = AuthMode::kClient;
  std::string deny_reason_;
  std::set<std::string> seen_tables_;
  bool seen_schema_change_ = false;

  // LRU cache, most recently used first.
  std::list<std::unique_ptr<Cached>> lru_;
  std::unordered_map<std::string, std::list<std::unique_ptr<Cached>>::iterator> index_;
};

}  // namespace kissvdb::sql
