#include "text/sqlite_conn.h"

namespace kissvdb::text {

namespace {
constexpr size_t kMaxCachedStatements = 256;  // then the cache starts over
}  // namespace

Stmt::~Stmt() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Stmt& Stmt::Bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->Error(sqlite3_sql(stmt_), rc);
}

Status Stmt::Run() {
  for (;;) {
    auto row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::OK();
  }
}

std::string_view Stmt::Text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(p), n);
}

int64_t Stmt::Int(int column) const { return sqlite3_column_int64(stmt_, column); }
double Stmt::Double(int column) const { return sqlite3_column_double(stmt_, column); }

Result<std::unique_ptr<SqliteConn>> SqliteConn::Open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  // Readers open read-write too (a WAL reader writes the -shm index), then
  // refuse writes with query_only.
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE | (read_only ? 0 : SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  auto conn = std::unique_ptr<SqliteConn>(new SqliteConn(db));
  if (rc != SQLITE_OK) return conn->Error("open " + path, rc);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  if (read_only) {
    KISSVDB_RETURN_IF_ERROR(conn->Exec("PRAGMA query_only=1"));
  } else {
    KISSVDB_RETURN_IF_ERROR(conn->Exec("PRAGMA journal_mode=WAL"));
    KISSVDB_RETURN_IF_ERROR(conn->Exec("PRAGMA synchronous=NORMAL"));
  }
  return conn;
}

SqliteConn::~SqliteConn() {
  ClearCache();
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Status SqliteConn::Error(std::string_view what, int rc) const {
  std::string msg = std::string(what) + ": " + (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Status::Corruption(std::move(msg));
    case SQLITE_FULL: return Status(Code::kInsufficientStorage, std::move(msg));
    case SQLITE_ERROR: return Status(Code::kSqliteError, std::move(msg));  // e.g. an FTS5 query's syntax
    default: return Status::IOError(std::move(msg));
  }
}

Status SqliteConn::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return Error(sql, rc);
  return Status::OK();
}

Result<Stmt> SqliteConn::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCachedStatements) ClearCache();
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return Error(sql, rc);
    }
    it = cache_.emplace(sql, stmt).first;
  }
  return Stmt(this, it->second);
}

void SqliteConn::ClearCache() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  cache_.clear();
}

Status SqliteConn::Checkpoint() {
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error("wal checkpoint", rc);
  return Status::OK();
}

}  // namespace kissvdb::text
