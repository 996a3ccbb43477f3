// Group commit of SQL writes (sql/sql_group_commit.cc): statements queued
// together commit in one SQLite transaction, each in its own savepoint, so a
// failing statement answers its own error and the others still apply, each
// with its own rowid and row count; everything acknowledged survives a
// reopen.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "sql_test_util.h"

namespace kissvdb::sql {
namespace {

TEST_F(SqlTest, QueuedStatementsCommitAsOneGroupAndFailAlone) {
  Open();
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT UNIQUE NOT NULL)");
  // Queue many statements at once, so the writer finds them together; every
  // third one repeats a key and must fail alone.
  constexpr int kN = 300;
  std::vector<std::promise<Result<ExecResult>>> done(kN);
  for (int i = 0; i < kN; ++i) {
    const std::string key = i % 3 == 2 ? "k" + std::to_string(i - 1) : "k" + std::to_string(i);
    db_->Submit(SqlStatement{"INSERT INTO t(k) VALUES (?)", Json::array({key})},
                [&done, i](Result<ExecResult> r) { done[i].set_value(std::move(r)); });
  }
  std::set<int64_t> rowids;
  int ok = 0, failed = 0;
  for (int i = 0; i < kN; ++i) {
    Result<ExecResult> r = done[i].get_future().get();
    if (i % 3 == 2) {
      ASSERT_FALSE(r.ok()) << i;
      EXPECT_EQ(r.status().code(), Code::kSqliteError);
      EXPECT_TRUE(Contains(r.status().message(), "UNIQUE")) << r.status().message();
      ++failed;
    } else {
      ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
      EXPECT_EQ(r->rows_affected, 1);
      EXPECT_TRUE(rowids.insert(r->last_insert_rowid).second) << "rowid " << r->last_insert_rowid << " twice";
      ++ok;
    }
  }
  EXPECT_EQ(ok, 200);
  EXPECT_EQ(failed, 100);
  EXPECT_EQ(Scalar("SELECT count(*) FROM t"), 200);
  // Each answer's rowid is the row its own statement inserted.
  for (int64_t id : rowids) EXPECT_EQ(Scalar("SELECT count(*) FROM t WHERE id = ?", Json::array({id})), 1);

  // Durable: all of it is there after a reopen.
  Open();
  EXPECT_EQ(Scalar("SELECT count(*) FROM t"), 200);
}

TEST_F(SqlTest, ConcurrentWritersShareCommitsAndLoseNothing) {
  Open();
  Exec("CREATE TABLE c(id INTEGER PRIMARY KEY, writer INTEGER, n INTEGER)");
  constexpr int kWriters = 8, kEach = 100;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int n = 0; n < kEach; ++n) {
        auto r = db_->Exec("INSERT INTO c(writer, n) VALUES (?, ?)", Json::array({w, n}));
        if (!r.ok()) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM c"), kWriters * kEach);
  EXPECT_EQ(Scalar("SELECT count(DISTINCT writer * 1000 + n) FROM c"), kWriters * kEach);
}

TEST_F(SqlTest, APragmaNeverJoinsAGroupAndDdlDoes) {
  Open();
  std::vector<std::promise<Result<ExecResult>>> done(4);
  auto submit = [&](int i, std::string sql) {
    db_->Submit(SqlStatement{std::move(sql), nullptr},
                [&done, i](Result<ExecResult> r) { done[i].set_value(std::move(r)); });
  };
  submit(0, "CREATE TABLE p(a)");
  submit(1, "INSERT INTO p VALUES (1)");
  submit(2, "  pragma user_version = 7");
  submit(3, "INSERT INTO p VALUES (2)");
  for (int i = 0; i < 4; ++i) {
    Result<ExecResult> r = done[i].get_future().get();
    // user_version is refused by the policy or applied; either way alone.
    if (i != 2) {
      EXPECT_TRUE(r.ok()) << i << ": " << r.status().ToString();
    }
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM p"), 2);
}

}  // namespace
}  // namespace kissvdb::sql
