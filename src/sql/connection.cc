#include "sql/connection.h"

#include <algorithm>
#include <climits>


namespace kissvdb::sql {

namespace {

// The progress handler runs every this many virtual-machine instructions;
// small enough to stop a runaway statement within a millisecond or so.
constexpr int kProgressOps = 1000;

// SQL longer than this is not cached (it is rarely repeated verbatim).
constexpr size_t kMaxCachedSqlBytes = 8 << 10;

struct CodeName {
  int code;
  const char* name;
};

// Extended codes clients are most likely to meet, then every primary code.
constexpr CodeName kCodeNames[] = {
    {SQLITE_CONSTRAINT_CHECK, "SQLITE_CONSTRAINT_CHECK"},
    {SQLITE_CONSTRAINT_COMMITHOOK, "SQLITE_CONSTRAINT_COMMITHOOK"},
    {SQLITE_CONSTRAINT_FOREIGNKEY, "SQLITE_CONSTRAINT_FOREIGNKEY"},
    {SQLITE_CONSTRAINT_FUNCTION, "SQLITE_CONSTRAINT_FUNCTION"},
    {SQLITE_CONSTRAINT_NOTNULL, "SQLITE_CONSTRAINT_NOTNULL"},
    {SQLITE_CONSTRAINT_PRIMARYKEY, "SQLITE_CONSTRAINT_PRIMARYKEY"},
    {SQLITE_CONSTRAINT_TRIGGER, "SQLITE_CONSTRAINT_TRIGGER"},
    {SQLITE_CONSTRAINT_UNIQUE, "SQLITE_CONSTRAINT_UNIQUE"},
    {SQLITE_CONSTRAINT_VTAB, "SQLITE_CONSTRAINT_VTAB"},
    {SQLITE_CONSTRAINT_ROWID, "SQLITE_CONSTRAINT_ROWID"},
    {SQLITE_CONSTRAINT_DATATYPE, "SQLITE_CONSTRAINT_DATATYPE"},
    {SQLITE_ERROR_MISSING_COLLSEQ, "SQLITE_ERROR_MISSING_COLLSEQ"},
    {SQLITE_ERROR_RETRY, "SQLITE_ERROR_RETRY"},
    {SQLITE_BUSY_RECOVERY, "SQLITE_BUSY_RECOVERY"},
    {SQLITE_BUSY_SNAPSHOT, "SQLITE_BUSY_SNAPSHOT"},
    {SQLITE_BUSY_TIMEOUT, "SQLITE_BUSY_TIMEOUT"},
    {SQLITE_READONLY_DBMOVED, "SQLITE_READONLY_DBMOVED"},
    {SQLITE_ABORT_ROLLBACK, "SQLITE_ABORT_ROLLBACK"},
    {SQLITE_AUTH, "SQLITE_AUTH"},
    {SQLITE_ERROR, "SQLITE_ERROR"},
    {SQLITE_INTERNAL, "SQLITE_INTERNAL"},
    {SQLITE_PERM, "SQLITE_PERM"},
    {SQLITE_ABORT, "SQLITE_ABORT"},
    {SQLITE_BUSY, "SQLITE_BUSY"},
    {SQLITE_LOCKED, "SQLITE_LOCKED"},
    {SQLITE_NOMEM, "SQLITE_NOMEM"},
    {SQLITE_READONLY, "SQLITE_READONLY"},
    {SQLITE_INTERRUPT, "SQLITE_INTERRUPT"},
    {SQLITE_IOERR, "SQLITE_IOERR"},
    {SQLITE_CORRUPT, "SQLITE_CORRUPT"},
    {SQLITE_NOTFOUND, "SQLITE_NOTFOUND"},
    {SQLITE_FULL, "SQLITE_FULL"},
    {SQLITE_CANTOPEN, "SQLITE_CANTOPEN"},
    {SQLITE_PROTOCOL, "SQLITE_PROTOCOL"},
    {SQLITE_EMPTY, "SQLITE_EMPTY"},
    {SQLITE_SCHEMA, "SQLITE_SCHEMA"},
    {SQLITE_TOOBIG, "SQLITE_TOOBIG"},
    {SQLITE_CONSTRAINT, "SQLITE_CONSTRAINT"},
    {SQLITE_MISMATCH, "SQLITE_MISMATCH"},
    {SQLITE_MISUSE, "SQLITE_MISUSE"},
    {SQLITE_NOLFS, "SQLITE_NOLFS"},
    {SQLITE_FORMAT, "SQLITE_FORMAT"},
    {SQLITE_RANGE, "SQLITE_RANGE"},
    {SQLITE_NOTADB, "SQLITE_NOTADB"},
};

const char* NameOf(int code) {
  for (const CodeName& c : kCodeNames) {
    if (c.code == code) return c.name;
  }
  for (const CodeName& c : kCodeNames) {
    if (c.code == (code & 0xff)) return c.name;
  }
  return "SQLITE_UNKNOWN";
}

// Which Status code an SQLite failure becomes: the client's statement is at
// fault (400) unless the failure is the server's (storage, memory, locks).
Code CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return Code::kInsufficientStorage;
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
    case SQLITE_PERM:
      return Code::kPersistenceError;
    case SQLITE_NOMEM:
    case SQLITE_INTERNAL:
    case SQLITE_MISUSE:
      return Code::kInternal;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Code::kUnavailable;
    default:
      return Code::kSqliteError;
  }
}

}  // namespace

Status SqliteStatus(sqlite3* db, int rc, std::string_view context) {
  std::string msg(context);
  if (!msg.empty()) msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (";
  msg += NameOf(rc);
  msg += ", extended code " + std::to_string(rc) + ")";
  return Status(CodeFor(rc), std::move(msg));
}

Connection::Cached::~Cached() { sqlite3_finalize(stmt); }

Connection::Statement::~Statement() {
  if (entry_) conn_->Return(std::move(entry_));
}

Connection::Connection(sqlite3* db, const SqlOptions& options)
    : db_(db),
      reserved_prefix_(options.reserved_table_prefix),
      timeout_ms_(options.statement_timeout_ms), cache_capacity_(options.statement_cache_size) {}

Connection::~Connection() {
  index_.clear();
  lru_.clear();  // finalizes every cached statement before the close
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<Connection>> Connection::Open(const SqlOptions& options, Mode mode) {
  int flags = SQLITE_OPEN_NOMUTEX;
  flags |= mode == Mode::kReadWrite ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READONLY;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(options.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status st = SqliteStatus(db, rc, "open " + options.path);
    sqlite3_close_v2(db);
    return Status(Code::kPersistenceError, st.message());
  }
  std::unique_ptr<Connection> conn(new Connection(db, options));
  Status st = conn->Configure(options, mode);
  if (!st.ok()) return Status(Code::kPersistenceError, "open " + options.path + ": " + st.message());
  return conn;
}

Status Connection::Configure(const SqlOptions& options, Mode mode) {
  sqlite3_extended_result_codes(db_, 1);
  int rc = sqlite3_busy_timeout(db_, static_cast<int>(std::min<uint32_t>(options.busy_timeout_ms, INT_MAX)));
  if (rc == SQLITE_OK) rc = sqlite3_enable_load_extension(db_, 0);
  if (rc == SQLITE_OK) rc = sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, "configure");
  int64_t max_len = std::clamp<int64_t>(options.max_value_bytes, 1, INT_MAX);
  sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, static_cast<int>(max_len));

  if (mode == Mode::kReadWrite) {
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &stmt, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    std::string got;
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      got = text ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW) return SqliteStatus(db_, rc, "PRAGMA journal_mode=WAL");
    if (got != "wal") return Status::IOError("could not switch to WAL journal mode (still " + got + ")");
  }
  // Readers never write; they get the same setting so that reading
  // "PRAGMA synchronous" through /v1/sql/query tells the truth.
  const char* sync = options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
  rc = sqlite3_exec(db_, sync, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, sync);

  // Pages are read through a shared memory map rather than pread() into each
  // connection's own 2 MiB page cache: a point SELECT on a table bigger than
  // that cache made a pread per query (bench/NOTES.md "SQL point SELECT").
  // SQLite writes through write() whatever this says (no
  // SQLITE_MMAP_READWRITE), so a full disk is still an error, not a signal.
  if (options.mmap_bytes > 0) {
    const std::string mmap = "PRAGMA mmap_size=" + std::to_string(options.mmap_bytes);
    rc = sqlite3_exec(db_, mmap.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(db_, rc, mmap);
  }
  // Last: the authorizer would refuse the pragmas above.
  sqlite3_set_authorizer(db_, &Connection::OnAuthorize, this);
  sqlite3_progress_handler(db_, kProgressOps, &Connection::OnProgress, this);
  return Status::OK();
}

Result<Connection::Statement> Connection::Prepare(std::string_view sql) {
  std::string key(sql);
  seen_tables_.clear();
  seen_schema_change_ = false;
  auto hit = index_.find(key);
  if (hit != index_.end()) {
    std::unique_ptr<Cached> entry = std::move(*hit->second);
    lru_.erase(hit->second);
    index_.erase(hit);
    return Statement(this, std::move(entry));
  }
  if (sql.size() > static_cast<size_t>(INT_MAX)) return Status::InvalidArgument("sql is too long");

  deny_reason_.clear();
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  unsigned flags = cache_capacity_ > 0 && sql.size() <= kMaxCachedSqlBytes ? SQLITE_PREPARE_PERSISTENT : 0;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), flags, &raw, &tail);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return ErrorStatus(rc);
  }
  if (raw == nullptr) return Status::InvalidArgument("sql holds no statement");
  auto entry = std::make_unique<Cached>();
  entry->stmt = raw;
  size_t used = static_cast<size_t>(tail - sql.data());
  if (!IsBlankSql(sql.substr(used))) {
    return Status::InvalidArgument("sql holds more than one statement; send one statement per call, or several "
                                   "to /v1/sql/transaction");
  }
  if (IsVacuumInto(sql.substr(0, used))) {
    return Status::InvalidArgument("VACUUM INTO is not allowed (it writes a file on the server)");
  }
  entry->sql = std::move(key);
  entry->tables.assign(seen_tables_.begin(), seen_tables_.end());
  entry->schema_change = seen_schema_change_;
  entry->readonly = sqlite3_stmt_readonly(raw) != 0;
  entry->vacuum = IsVacuum(sql.substr(0, used));
  return Statement(this, std::move(entry));
}

Result<bool> Connection::Step(Statement& stmt) {
  deny_reason_.clear();
  auth_mode_ = stmt.entry_->vacuum ? AuthMode::kVacuum : AuthMode::kClient;
  int rc = sqlite3_step(stmt.get());
  auth_mode_ = AuthMode::kClient;
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return ErrorStatus(rc);
}

void Connection::RecordSeen(Statement& stmt) {
  if (seen_tables_.empty() && !seen_schema_change_) return;
  Cached& entry = *stmt.entry_;
  seen_tables_.insert(entry.tables.begin(), entry.tables.end());
  entry.tables.assign(seen_tables_.begin(), seen_tables_.end());
  entry.schema_change = entry.schema_change || seen_schema_change_;
}

void Connection::StartTimer(std::optional<std::chrono::steady_clock::time_point> give_up_at) {
  timed_out_ = false;
  gave_up_ = false;
  give_up_at_ = give_up_at;
  deny_reason_.clear();
  if (timeout_ms_ == 0) return;
  timer_active_ = true;
  deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
}

void Connection::StopTimer() {
  timer_active_ = false;
  give_up_at_.reset();
}

Status Connection::Control(const char* sql) {
  auth_mode_ = AuthMode::kInternalControl;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  auth_mode_ = AuthMode::kClient;
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, sql);
  return Status::OK();
}

int64_t Connection::SchemaVersion() {
  auth_mode_ = AuthMode::kInternalControl;
  sqlite3_stmt* stmt = nullptr;
  int64_t version = -1;
  if (sqlite3_prepare_v2(db_, "PRAGMA main.schema_version", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    version = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  auth_mode_ = AuthMode::kClient;
  return version;
}

Status Connection::ErrorStatus(int rc) const {
  if (!deny_reason_.empty()) return Status::InvalidArgument(deny_reason_);
  if ((rc & 0xff) == SQLITE_INTERRUPT && timed_out_) {
    return Status(Code::kRequestTimeout, "statement timed out after " + std::to_string(timeout_ms_) +
                                             " ms and was interrupted; narrow the query or add an index");
  }
  return SqliteStatus(db_, rc);
}

void Connection::Return(std::unique_ptr<Cached> entry) {
  sqlite3_reset(entry->stmt);
  sqlite3_clear_bindings(entry->stmt);
  if (cache_capacity_ == 0 || entry->sql.size() > kMaxCachedSqlBytes || index_.count(entry->sql)) return;
  lru_.push_front(std::move(entry));
  index_.emplace(lru_.front()->sql, lru_.begin());
  while (lru_.size() > cache_capacity_) {
    index_.erase(lru_.back()->sql);
    lru_.pop_back();
  }
}

int Connection::OnAuthorize(void* self, int action, const char* a1, const char* a2, const char* db,
                            const char* /*trigger*/) {
  auto* conn = static_cast<Connection*>(self);
  AuthVerdict verdict = Authorize(action, a1, a2, conn->auth_mode_, conn->reserved_prefix_);
  if (!verdict.allow) {
    if (conn->deny_reason_.empty()) conn->deny_reason_ = std::move(verdict.reason);
    return SQLITE_DENY;
  }
  std::string table = ChangedTable(action, a1, a2, db);
  if (!table.empty()) {
    conn->seen_tables_.insert(std::move(table));
    if (IsSchemaChange(action)) conn->seen_schema_change_ = true;
  }
  return SQLITE_OK;
}

int Connection::OnProgress(void* self) {
  auto* conn = static_cast<Connection*>(self);
  if (!conn->timer_active_ && !conn->give_up_at_) return 0;
  const auto now = std::chrono::steady_clock::now();
  if (conn->give_up_at_ && now >= *conn->give_up_at_) {
    conn->gave_up_ = true;
    return 1;
  }
  if (conn->timer_active_ && now >= conn->deadline_) {
    conn->timed_out_ = true;
    return 1;
  }
  return 0;
}

}  // namespace kissvdb::sql
