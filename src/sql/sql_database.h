// SqlDatabase: the SQL model, an embedded SQLite database behind the API.
//
// One database file (default <data_dir>/sql.db) in WAL mode, reached through
// one write connection and a small pool of read-only connections:
//   - Query runs one read-only statement (sqlite3_stmt_readonly) on a pooled
//     read connection, so many threads read in parallel, each seeing the
//     last committed state (WAL snapshot isolation).
//   - Exec runs one statement and Transaction runs several atomically
//     (BEGIN IMMEDIATE ... COMMIT), both on the write connection under one
//     mutex: writes are serialized, in commit order.
//   - Submit queues one statement for the writer thread, which commits
//     every statement queued meanwhile as one group: one SQLite transaction
//     with a savepoint per statement (a failing statement is undone alone)
//     and one COMMIT, so concurrent writers share one fsync (group commit,
//     as the event log does; sql_group_commit.cc). Exec is Submit + wait.
// Every statement is prepared, parameters are bound (never interpolated),
// and each connection keeps a small LRU cache of prepared statements.
//
// Safety (docs/sql.md): an authorizer refuses ATTACH/DETACH, load_extension,
// client transaction control, VACUUM INTO, the server's reserved tables
// (kissvdb_*) and all but harmless PRAGMAs; extensions are disabled;
// SQLITE_DBCONFIG_DEFENSIVE is on. Each statement
// has a time limit, and query results a row and a byte limit.
//
// SQL is not event-sourced: the SQLite file is its own durable store
// (synchronous=FULL under Durability::kAlways). The change callback lets the
// engine record *that* a write happened (a `sql` event naming the tables),
// not replay it; docs/sql.md explains why.
//
// Errors (Status codes; HTTP status via src/http/errors.cc):
//   kInvalidArgument  400  bad params, not read-only in Query, several
//                          statements, a refused statement (message says why)
//   kSqliteError      400  SQLite rejected the statement; the message is
//                          SQLite's plus "(SQLITE_<NAME>, extended code N)"
//   kRequestTimeout   408  "statement timed out after N ms"
//   kPayloadTooLarge  413  query result over max_rows / max_result_bytes
//   kUnavailable      503  database still locked after busy_timeout_ms
//   kPersistenceError 500  I/O error, corruption, cannot open
//   kInsufficientStorage 507  disk full
//
// Thread safety: all public methods may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kissvdb/config.h"
#include "kissvdb/event.h"
#include "kissvdb/status.h"

namespace kissvdb::sql {

class Connection;
class ReadPool;
struct RenderedRows;

struct SqlOptions {
  std::string path;                    // the database file; created if missing
  bool synchronous_full = true;        // FULL (fsync every commit) vs NORMAL
  uint32_t busy_timeout_ms = 5000;     // wait for a lock held by another process
  uint32_t statement_timeout_ms = 5000;  // per statement; 0 = no limit
  uint64_t max_rows = 10000;           // per query result
  uint64_t max_result_bytes = 16ull << 20;  // per query result, estimated JSON size
  uint32_t max_transaction_statements = 256;
  uint32_t read_connections = 4;       // 0 = queries share the write connection
  uint32_t statement_cache_size = 64;  // prepared statements kept per connection
  uint64_t mmap_bytes = 1ull << 30;    // PRAGMA mmap_size of every connection; 0 = pread only
  int64_t max_value_bytes = 64ll << 20;  // SQLITE_LIMIT_LENGTH: largest string/blob
  // Tables whose names start with this are the server's own (e.g. API keys):
  // SQL clients cannot read, write or create them. Empty = none.
  std::string reserved_table_prefix = "kissvdb_";

  // Called after each write that changed something (rows or schema), with
  // {"tables": [sorted names], "rows_affected": n, "statement": "exec" |
  // "transaction"}. Runs on the writing thread while the write lock is held,
  // so calls arrive in commit order. It must be quick and must not call back
  // into this SqlDatabase (that would deadlock). Optional.
  std::function<void(const Json& info)> on_change;
};

// Options from the daemon configuration: sqlite_path (or <data_dir>/sql.db),
// synchronous FULL when durability is kAlways, NORMAL otherwise. Limits keep
// their defaults.
SqlOptions SqlOptionsFromConfig(const Config& config);

struct SqlColumn {
  std::string name;
  std::optional<std::string> decltype_name;  // declared type; none for expressions
};

struct QueryResult {
  std::vector<SqlColumn> columns;
  Json rows = Json::array();  // [{column name: value}]; a repeated name keeps the last value
};

struct ExecResult {
  int64_t rows_affected = 0;      // rows changed directly by the statement (0 for DDL)
  int64_t last_insert_rowid = 0;  // sqlite3_last_insert_rowid of the write connection
};

struct SqlStatement {
  std::string sql;
  Json params;  // null, array or object
};

// The wire forms used by the API.
Json ColumnsJson(const std::vector<SqlColumn>& columns);  // [{"name","decltype"}]
Json ExecResultJson(const ExecResult& result);           // {"rows_affected","last_insert_rowid"}

class SqlDatabase {
 public:
  // Opens (creating if needed) the database and its connections, and sets
  // WAL mode, synchronous, busy timeout and the safety settings.
  static Result<std::unique_ptr<SqlDatabase>> Open(SqlOptions options);
  ~SqlDatabase();
  SqlDatabase(const SqlDatabase&) = delete;
  SqlDatabase& operator=(const SqlDatabase&) = delete;

  // Runs one read-only statement and returns its rows.
  Result<QueryResult> Query(std::string_view sql, const Json& params);

  // Query, answered as the text of the API's response body,
  // {"columns":[{"decltype","name"}],"rows":[{column: value}]}: written
  // straight from the statement, with no Json tree (the point-SELECT hot
  // path), and byte for byte what dumping the same Json would write
  // (keys sorted, a repeated column name once with its last value, invalid
  // UTF-8 replaced).
  Result<std::string> QueryJson(std::string_view sql, const Json& params);

  // Query, if it can be done at once and quickly: nullopt (nothing done)
  // when no read connection is free or the query needs more than `budget`
  // (it is interrupted then). For callers that must not block, such as an
  // HTTP I/O thread: a point SELECT answers there, anything longer is run
  // again with Query on a thread that may wait.
  std::optional<Result<QueryResult>> TryQuery(std::string_view sql, const Json& params,
                                              std::chrono::microseconds budget);
  std::optional<Result<std::string>> TryQueryJson(std::string_view sql, const Json& params,
                                                  std::chrono::microseconds budget);

  // Runs one statement that may write. A read-only statement that returns
  // rows (SELECT) is refused: use Query. Rows from RETURNING are discarded.
  // Returns once the statement is committed (and, with synchronous=FULL,
  // fsynced), possibly in one group with other writers' statements.
  Result<ExecResult> Exec(std::string_view sql, const Json& params);

  // Exec without waiting: `done` runs on the writer thread once the
  // statement's group is committed (or it failed). It must be quick.
  void Submit(SqlStatement statement, std::function<void(Result<ExecResult>)> done);

  // Runs the statements in order inside BEGIN IMMEDIATE ... COMMIT. On the
  // first failure everything is rolled back and the error message starts
  // with "statements[i]: ". Each statement follows Exec's rules.
  Result<std::vector<ExecResult>> Transaction(const std::vector<SqlStatement>& statements);

  // Writes a consistent copy of the database to `dest_path` with SQLite's
  // online backup API (one read transaction; writers are not blocked), via a
  // temporary file, fsync and rename, so `dest_path` is complete or absent.
  Status Backup(const std::string& dest_path);

  const SqlOptions& options() const { return options_; }

 private:
  explicit SqlDatabase(SqlOptions options);

  // Runs one statement on the write connection. Sets *changed when it
  // changed rows or the schema, and then appends the tables it touched to
  // *tables. REQUIRES: write_mu_ held.
  Result<ExecResult> ExecLocked(std::string_view sql, const Json& params, std::vector<std::string>* tables,
                                bool* changed);
  // One read-only statement on a read connection (or the writer's, when
  // there are none); TryRun: nullopt when none is free or `budget` ran out.
  Result<RenderedRows> Run(std::string_view sql, const Json& params);
  std::optional<Result<RenderedRows>> TryRun(std::string_view sql, const Json& params,
                                             std::chrono::microseconds budget);
  void NotifyChange(const std::vector<std::string>& tables, int64_t rows, const char* statement);
  // write_mu_ held for one write on writer_, with the readers told before
  // and after it, so they drop the snapshots they keep (read_pool.h). The
  // write is acknowledged only after the section ends.
  class WriteSection {
   public:
    explicit WriteSection(SqlDatabase* db);
    ~WriteSection();
    WriteSection(const WriteSection&) = delete;
    WriteSection& operator=(const WriteSection&) = delete;

   private:
    SqlDatabase* db_;
    std::lock_guard<std::mutex> lock_;
  };

  // Group commit (sql_group_commit.cc).
  struct Pending {
    SqlStatement statement;
    std::function<void(Result<ExecResult>)> done;
  };
  void WriterLoop();
  // Runs the group on the write connection and completes each statement.
  void CommitGroup(std::vector<Pending>& group);
  void StopWriter();

  SqlOptions options_;
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<Pending> queue_;  // guarded by queue_mu_
  bool stopping_ = false;       // guarded by queue_mu_
  std::thread writer_thread_;
  std::mutex write_mu_;  // serializes everything on writer_
  std::unique_ptr<Connection> writer_;
  std::unique_ptr<ReadPool> readers_;
};

}  // namespace kissvdb::sql
