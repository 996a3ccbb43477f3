// Group commit of SQL writes (docs/sql.md, "Storage and durability").
//
// Writers queue their statement (Submit) and one writer thread takes
// everything queued as one group:
//
//   BEGIN IMMEDIATE
//   SAVEPOINT s; <statement 1>; RELEASE s      (or ROLLBACK TO s on failure)
//   SAVEPOINT s; <statement 2>; RELEASE s
//   ...
//   COMMIT                                      (one fsync with synchronous=FULL)
//
// so N concurrent writers pay one fsync instead of N, and each statement
// still succeeds or fails alone: a failing one is rolled back to its
// savepoint and answers its own error. If a failure ends the whole
// transaction (SQLite does on some errors: a full disk, an interrupt), the
// statements that had succeeded are run again in a new transaction without
// it. A group of one statement runs as before, in autocommit.
#include <spdlog/spdlog.h>

#include <future>

#include "sql/connection.h"
#include "sql/sql_database.h"

namespace kissvdb::sql {

namespace {

// Most statements in one group: bounds the time one COMMIT holds the others.
constexpr size_t kMaxGroup = 256;

// PRAGMAs behave differently inside a transaction (some do nothing there):
// they never join a group.
bool RunsAlone(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size() && (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n' || sql[i] == '\r')) ++i;
  static constexpr std::string_view kPragma = "pragma";
  if (sql.size() - i < kPragma.size()) return false;
  for (size_t k = 0; k < kPragma.size(); ++k) {
    if ((sql[i + k] | 0x20) != kPragma[k]) return false;
  }
  return true;
}

}  // namespace

void SqlDatabase::Submit(SqlStatement statement, std::function<void(Result<ExecResult>)> done) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!stopping_) {
      queue_.push_back(Pending{std::move(statement), std::move(done)});
      if (queue_.size() == 1) queue_cv_.notify_one();
      return;
    }
  }
  done(Status::Unavailable("the SQL database is closing"));
}

Result<ExecResult> SqlDatabase::Exec(std::string_view sql, const Json& params) {
  std::promise<Result<ExecResult>> promise;
  auto future = promise.get_future();
  Submit(SqlStatement{std::string(sql), params}, [&promise](Result<ExecResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void SqlDatabase::StopWriter() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
}

void SqlDatabase::WriterLoop() {
  std::vector<Pending> group;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, nothing left
      // A statement that runs alone goes alone; the others join up to it.
      size_t n = 1;
      if (!RunsAlone(queue_[0].statement.sql)) {
        while (n < queue_.size() && n < kMaxGroup && !RunsAlone(queue_[n].statement.sql)) ++n;
      }
      group.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + n));
      queue_.erase(queue_.begin(), queue_.begin() + n);
    }
    CommitGroup(group);
    group.clear();
  }
}

void SqlDatabase::CommitGroup(std::vector<Pending>& group) {
  struct Outcome {
    Result<ExecResult> result = Status::Internal("not run");
    std::vector<std::string> tables;
    bool changed = false;
  };
  std::vector<Outcome> out(group.size());
  {
    WriteSection section(this);  // ends before any answer: queries sent after one see the group
    if (group.size() == 1) {
      Outcome& o = out[0];
      o.result = ExecLocked(group[0].statement.sql, group[0].statement.params, &o.tables, &o.changed);
      if (writer_->in_transaction()) writer_->Control("ROLLBACK");  // cannot happen: the authorizer refuses BEGIN
    } else {
      // failed[i]: statement i failed and stays out of the group.
      std::vector<bool> failed(group.size(), false);
      Status group_error;
      for (bool again = true; again;) {
        again = false;
        group_error = writer_->Control("BEGIN IMMEDIATE");
        if (!group_error.ok()) break;
        for (size_t i = 0; i < group.size() && !again; ++i) {
          if (failed[i]) continue;
          Outcome& o = out[i];
          o.tables.clear();
          Status sp = writer_->Control("SAVEPOINT kissvdb_group");
          if (!sp.ok()) {
            group_error = sp;
            break;
          }
          o.result = ExecLocked(group[i].statement.sql, group[i].statement.params, &o.tables, &o.changed);
          if (o.result.ok()) {
            group_error = writer_->Control("RELEASE kissvdb_group");
            if (!group_error.ok()) break;
            continue;
          }
          failed[i] = true;
          o.changed = false;
          if (writer_->in_transaction()) {
            (void)writer_->Control("ROLLBACK TO kissvdb_group");
            group_error = writer_->Control("RELEASE kissvdb_group");
            if (!group_error.ok()) break;
          } else {
            again = true;  // the failure ended the transaction: run the others again
          }
        }
        if (!group_error.ok()) break;
      }
      if (group_error.ok()) group_error = writer_->Control("COMMIT");
      if (!group_error.ok()) {
        if (writer_->in_transaction()) writer_->Control("ROLLBACK");
        for (size_t i = 0; i < group.size(); ++i) {
          if (!failed[i]) {
            out[i].result = group_error;
            out[i].changed = false;
          }
        }
      }
    }
  }
  for (size_t i = 0; i < group.size(); ++i) {
    if (out[i].result.ok() && out[i].changed) NotifyChange(out[i].tables, out[i].result->rows_affected, "exec");
    group[i].done(std::move(out[i].result));
  }
}

}  // namespace kissvdb::sql
