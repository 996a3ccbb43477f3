#include "sql/sql_database.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>

#include "sql/connection.h"
#include "sql/read_pool.h"
#include "sql/values.h"
#include "util/file_util.h"
#include "util/json_writer.h"

namespace kissvdb::sql {

// A query's answer as written by RunQuery: the columns, and the rows as the
// text of a JSON array of objects.
struct RenderedRows {
  std::vector<SqlColumn> columns;
  std::string rows_json;
};

namespace {

Status TooLarge(const std::string& what) {
  return Status(Code::kPayloadTooLarge, what + "; add a LIMIT or select fewer columns");
}

// How a row object is written: its keys in the order nlohmann's object (a
// std::map) dumps them, byte-wise sorted, and a repeated column name once,
// with the value of its last column (as assigning obj[name] did).
struct RowLayout {
  std::vector<std::string> key_prefixes;  // "\"name\":" escaped, per key
  std::vector<int> columns;               // the column written under each key
  std::vector<size_t> name_sizes;         // for the size estimate
};

RowLayout LayoutOf(const std::vector<SqlColumn>& columns) {
  std::vector<std::pair<std::string_view, int>> keys;
  for (size_t i = 0; i < columns.size(); ++i) keys.emplace_back(columns[i].name, static_cast<int>(i));
  std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  RowLayout layout;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i + 1 < keys.size() && keys[i + 1].first == keys[i].first) continue;  // the last one wins
    std::string prefix;
    AppendJsonString(keys[i].first, &prefix);
    prefix.push_back(':');
    layout.key_prefixes.push_back(std::move(prefix));
    layout.columns.push_back(keys[i].second);
    layout.name_sizes.push_back(keys[i].first.size());
  }
  return layout;
}

// Runs one read-only statement on `conn` and writes its rows as JSON text.
// With `give_up_at`, stops at that moment and sets *gave_up (the result is
// then an error to drop: the caller runs the query again elsewhere).
Result<RenderedRows> RunQuery(Connection& conn, std::string_view sql, const Json& params, const SqlOptions& options,
                              std::optional<std::chrono::steady_clock::time_point> give_up_at = std::nullopt,
                              bool* gave_up = nullptr) {
  auto stmt = conn.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  if (!stmt->readonly()) {
    return Status::InvalidArgument("query only runs read-only statements; use /v1/sql/exec");
  }
  sqlite3_stmt* s = stmt->get();
  KISSVDB_RETURN_IF_ERROR(BindParams(s, params));

  // Columns are read after the first step: a statement from the cache is
  // re-prepared inside sqlite3_step when the schema changed since.
  RenderedRows result;
  bool described = false;
  RowLayout layout;
  auto describe = [&] {
    int ncols = sqlite3_column_count(s);
    for (int i = 0; i < ncols; ++i) {
      const char* name = sqlite3_column_name(s, i);
      const char* decl = sqlite3_column_decltype(s, i);
      result.columns.push_back(SqlColumn{ToValidUtf8(name ? name : ""),
                                         decl ? std::optional<std::string>(ToValidUtf8(decl)) : std::nullopt});
    }
    layout = LayoutOf(result.columns);
    described = true;
  };

  std::string& out = result.rows_json;
  out.push_back('[');
  uint64_t nrows = 0;
  size_t bytes = 2;
  conn.StartTimer(give_up_at);
  Status failed;
  while (true) {
    auto row = conn.Step(*stmt);
    if (!row.ok()) {
      failed = row.status();
      break;
    }
    if (!described) describe();
    if (!*row) break;
    if (nrows >= options.max_rows) {
      failed = TooLarge("the query returned more than " + std::to_string(options.max_rows) + " rows (max_rows)");
      break;
    }
    if (nrows++ > 0) out.push_back(',');
    out.push_back('{');
    for (size_t k = 0; k < layout.columns.size(); ++k) {
      if (k > 0) out.push_back(',');
      bytes += layout.name_sizes[k] + 4;
      out.append(layout.key_prefixes[k]);
      AppendColumnJson(s, layout.columns[k], &bytes, &out);
    }
    out.push_back('}');
    if (bytes > options.max_result_bytes) {
      failed = TooLarge("the query result is larger than " + std::to_string(options.max_result_bytes) +
                        " bytes (max_result_bytes)");
      break;
    }
    // Many quick steps are not seen by the progress handler: look here too.
    if (give_up_at && std::chrono::steady_clock::now() >= *give_up_at) {
      failed = Status(Code::kRequestTimeout, "gave up");
      if (gave_up) *gave_up = true;
      break;
    }
  }
  if (gave_up && conn.gave_up()) *gave_up = true;
  conn.StopTimer();
  if (!failed.ok()) return failed;
  out.push_back(']');
  return result;
}

// The API's answer: {"columns":[...],"rows":[...]} (keys sorted, as a
// dumped Json object writes them).
std::string ResponseBody(const RenderedRows& r) {
  std::string columns = DumpJson(ColumnsJson(r.columns));
  std::string body;
  body.reserve(columns.size() + r.rows_json.size() + 24);
  body.append("{\"columns\":").append(columns).append(",\"rows\":").append(r.rows_json).push_back('}');
  return body;
}

Result<QueryResult> ToQueryResult(Result<RenderedRows> r) {
  if (!r.ok()) return r.status();
  QueryResult out;
  out.columns = std::move(r->columns);
  out.rows = Json::parse(r->rows_json);
  return out;
}

Result<std::string> ToBody(Result<RenderedRows> r) {
  if (!r.ok()) return r.status();
  return ResponseBody(*r);
}

}  // namespace

SqlOptions SqlOptionsFromConfig(const Config& config) {
  SqlOptions options;
  options.path = config.sqlite_path.empty() ? (std::filesystem::path(config.data_dir) / "sql.db").string()
                                            : config.sqlite_path;
  options.synchronous_full = config.durability == Durability::kAlways;
  return options;
}

Json ColumnsJson(const std::vector<SqlColumn>& columns) {
  Json out = Json::array();
  for (const SqlColumn& c : columns) {
    out.push_back(Json{{"name", c.name}, {"decltype", c.decltype_name ? Json(*c.decltype_name) : Json(nullptr)}});
  }
  return out;
}

Json ExecResultJson(const ExecResult& result) {
  return Json{{"rows_affected", result.rows_affected}, {"last_insert_rowid", result.last_insert_rowid}};
}

SqlDatabase::SqlDatabase(SqlOptions options) : options_(std::move(options)) {}

SqlDatabase::~SqlDatabase() {
  StopWriter();
  readers_.reset();  // readers first, so the writer's close can checkpoint
  writer_.reset();
}

Result<std::unique_ptr<SqlDatabase>> SqlDatabase::Open(SqlOptions options) {
  if (options.path.empty()) return Status::InvalidArgument("the SQLite path is empty");
  std::string dir = std::filesystem::path(options.path).parent_path().string();
  if (!dir.empty()) KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs(dir));

  std::unique_ptr<SqlDatabase> db(new SqlDatabase(std::move(options)));
  auto writer = Connection::Open(db->options_, Connection::Mode::kReadWrite);
  if (!writer.ok()) return writer.status();
  db->writer_ = std::move(writer.value());
  if (db->options_.read_connections > 0) {
    std::vector<std::unique_ptr<Connection>> readers;
    for (uint32_t i = 0; i < db->options_.read_connections; ++i) {
      auto reader = Connection::Open(db->options_, Connection::Mode::kReadOnly);
      if (!reader.ok()) return reader.status();
      readers.push_back(std::move(reader.value()));
    }
    db->readers_ = std::make_unique<ReadPool>(std::move(readers));
  }
  db->writer_thread_ = std::thread([raw = db.get()] { raw->WriterLoop(); });
  return db;
}

Result<RenderedRows> SqlDatabase::Run(std::string_view sql, const Json& params) {
  if (readers_) {
    ReadPool::Lease lease = readers_->Acquire();
    return RunQuery(*lease, sql, params, options_);
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  return RunQuery(*writer_, sql, params, options_);
}

std::optional<Result<RenderedRows>> SqlDatabase::TryRun(std::string_view sql, const Json& params,
                                                        std::chrono::microseconds budget) {
  if (!readers_) return std::nullopt;
  std::unique_ptr<ReadPool::Lease> lease = readers_->TryAcquire();
  if (!lease) return std::nullopt;
  bool gave_up = false;
  auto result = RunQuery(**lease, sql, params, options_, std::chrono::steady_clock::now() + budget, &gave_up);
  if (gave_up) return std::nullopt;
  return result;
}

Result<QueryResult> SqlDatabase::Query(std::string_view sql, const Json& params) {
  return ToQueryResult(Run(sql, params));
}

Result<std::string> SqlDatabase::QueryJson(std::string_view sql, const Json& params) {
  return ToBody(Run(sql, params));
}

std::optional<Result<QueryResult>> SqlDatabase::TryQuery(std::string_view sql, const Json& params,
                                                         std::chrono::microseconds budget) {
  auto r = TryRun(sql, params, budget);
  if (!r) return std::nullopt;
  return ToQueryResult(std::move(*r));
}

std::optional<Result<std::string>> SqlDatabase::TryQueryJson(std::string_view sql, const Json& params,
                                                             std::chrono::microseconds budget) {
  auto r = TryRun(sql, params, budget);
  if (!r) return std::nullopt;
  return ToBody(std::move(*r));
}

Result<ExecResult> SqlDatabase::ExecLocked(std::string_view sql, const Json& params, std::vector<std::string>* tables,
                                           bool* changed) {
  Connection& conn = *writer_;
  auto stmt = conn.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  sqlite3_stmt* s = stmt->get();
  if (stmt->readonly() && sqlite3_column_count(s) > 0) {
    return Status::InvalidArgument("exec runs statements that change the database; use /v1/sql/query to read rows");
  }
  KISSVDB_RETURN_IF_ERROR(BindParams(s, params));

  sqlite3* db = conn.db();
  sqlite3_int64 before = sqlite3_total_changes64(db);
  // DDL that may do nothing (CREATE ... IF NOT EXISTS) is checked against
  // the schema cookie, so that only real changes are reported.
  bool ddl = stmt->schema_change();
  int64_t schema_before = ddl ? conn.SchemaVersion() : 0;
  conn.StartTimer();
  Status failed;
  while (true) {
    auto row = conn.Step(*stmt);
    if (!row.ok()) {
      failed = row.status();
      break;
    }
    if (!*row) break;  // rows from RETURNING are discarded
  }
  conn.StopTimer();
  if (!failed.ok()) return failed;
  conn.RecordSeen(*stmt);

  sqlite3_int64 after = sqlite3_total_changes64(db);
  ExecResult result;
  result.rows_affected = after != before ? sqlite3_changes64(db) : 0;  // changes64 is stale after DDL
  result.last_insert_rowid = sqlite3_last_insert_rowid(db);
  // A statement that only turned out to be DDL while running (re-prepared
  // after a schema change) counts as a change.
  bool schema_changed = ddl ? conn.SchemaVersion() != schema_before : stmt->schema_change();
  *changed = after != before || schema_changed;
  if (*changed) tables->insert(tables->end(), stmt->tables().begin(), stmt->tables().end());
  return result;
}

Result<std::vector<ExecResult>> SqlDatabase::Transaction(const std::vector<SqlStatement>& statements) {
  if (statements.empty() || statements.size() > options_.max_transaction_statements) {
    return Status::InvalidArgument("statements must hold 1.." + std::to_string(options_.max_transaction_statements) +
                                   " items");
  }
  WriteSection section(this);
  KISSVDB_RETURN_IF_ERROR(writer_->Control("BEGIN IMMEDIATE"));
  std::vector<ExecResult> results;
  std::vector<std::string> tables;
  bool changed_any = false;
  int64_t rows = 0;
  for (size_t i = 0; i < statements.size(); ++i) {
    bool changed = false;
    auto r = ExecLocked(statements[i].sql, statements[i].params, &tables, &changed);
    if (!r.ok()) {
      // An interrupted or failed statement may already have ended the
      // transaction (SQLite rolls back on some errors).
      if (writer_->in_transaction()) writer_->Control("ROLLBACK");
      return Status(r.status().code(), "statements[" + std::to_string(i) + "]: " + r.status().message() +
                                           " (the transaction was rolled back)");
    }
    changed_any = changed_any || changed;
    rows += r->rows_affected;
    results.push_back(r.value());
  }
  Status commit = writer_->Control("COMMIT");
  if (!commit.ok()) {
    if (writer_->in_transaction()) writer_->Control("ROLLBACK");
    return commit;
  }
  if (changed_any) NotifyChange(tables, rows, "transaction");
  return results;
}

SqlDatabase::WriteSection::WriteSection(SqlDatabase* db) : db_(db), lock_(db->write_mu_) {
  if (db_->readers_) db_->readers_->WriteBegins();
}

SqlDatabase::WriteSection::~WriteSection() {
  if (db_->readers_) db_->readers_->WriteEnded();
}

void SqlDatabase::NotifyChange(const std::vector<std::string>& tables, int64_t rows, const char* statement) {
  if (!options_.on_change) return;
  std::set<std::string> unique(tables.begin(), tables.end());
  Json info{{"tables", Json(std::vector<std::string>(unique.begin(), unique.end()))},
            {"rows_affected", rows},
            {"statement", statement}};
  try {
    options_.on_change(info);
  } catch (const std::exception& e) {
    spdlog::warn("sql: change callback threw: {}", e.what());
  }
}

Status SqlDatabase::Backup(const std::string& dest_path) {
  std::string tmp = dest_path + ".tmp";
  std::remove(tmp.c_str());
  sqlite3* dest = nullptr;
  int rc = sqlite3_open_v2(tmp.c_str(), &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    Status st = SqliteStatus(dest, rc, "backup: open " + tmp);
    sqlite3_close_v2(dest);
    return Status(Code::kPersistenceError, st.message());
  }
  auto copy = [&](Connection& source) {
    sqlite3_backup* backup = sqlite3_backup_init(dest, "main", source.db(), "main");
    if (backup == nullptr) return SqliteStatus(dest, sqlite3_errcode(dest), "backup");
    sqlite3_backup_step(backup, -1);  // everything, in one read transaction
    int finish = sqlite3_backup_finish(backup);
    return finish == SQLITE_OK ? Status::OK() : SqliteStatus(dest, finish, "backup");
  };
  Status st;
  if (readers_) {
    ReadPool::Lease lease = readers_->Acquire();
    st = copy(*lease);
  } else {
    std::lock_guard<std::mutex> lock(write_mu_);
    st = copy(*writer_);
  }
  rc = sqlite3_close(dest);  // the copy's commit was synced (synchronous=FULL by default)
  if (st.ok() && rc != SQLITE_OK) st = Status::IOError("backup: close " + tmp + " failed");
  if (!st.ok()) {
    std::remove(tmp.c_str());
    return Status(st.code() == Code::kSqliteError ? Code::kPersistenceError : st.code(), st.message());
  }
  if (std::rename(tmp.c_str(), dest_path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    return file_util::ErrnoStatus("rename", dest_path, err);
  }
  std::string dir = std::filesystem::path(dest_path).parent_path().string();
  return file_util::SyncDir(dir.empty() ? "." : dir);
}

}  // namespace kissvdb::sql
