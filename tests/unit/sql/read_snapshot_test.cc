// The read transactions the read connections keep open between queries
// (sql/read_pool.h): a query still sees every write acknowledged before it,
// never less than an earlier query saw, a write by another process within
// ReadPool::kMaxSnapshotAge, and kept snapshots do not hold the WAL.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "sql/read_pool.h"
#include "sql/sql_database.h"
#include "sql_test_util.h"

namespace kissvdb::sql {
namespace {

int64_t CountOf(const Result<QueryResult>& r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->rows[0]["n"].get<int64_t>() : -1;
}

// TryQuery, as the I/O threads run it: nullopt only when no reader is free.
int64_t TryCount(SqlDatabase& db) {
  for (;;) {
    auto r = db.TryQuery("SELECT count(*) AS n FROM t", nullptr, std::chrono::seconds(5));
    if (r) return CountOf(*r);
    std::this_thread::yield();
  }
}

TEST_F(SqlTest, EveryQuerySeesTheWritesAcknowledgedBeforeIt) {
  Open();
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  for (int i = 1; i <= 300; ++i) {
    // The readers have snapshots open from the queries just before.
    if (i % 3 == 0) {
      auto r = db_->Transaction({{"INSERT INTO t(id, v) VALUES (?, 'x')", Json::array({i})}});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    } else {
      Exec("INSERT INTO t(id, v) VALUES (?, 'x')", Json::array({i}));
    }
    ASSERT_EQ(TryCount(*db_), i);
    ASSERT_EQ(CountOf(db_->Query("SELECT count(*) AS n FROM t", nullptr)), i);
    ASSERT_EQ(TryCount(*db_), i);
  }
  // A failed write is a write too: the snapshot after it is still right.
  EXPECT_FALSE(db_->Exec("INSERT INTO t(id, v) VALUES (1, 'dup')", nullptr).ok());
  EXPECT_EQ(TryCount(*db_), 300);
  // And a schema change.
  Exec("ALTER TABLE t ADD COLUMN w INTEGER DEFAULT 7");
  EXPECT_EQ(Scalar("SELECT sum(w) FROM t"), 2100);
}

// Writers commit while readers query: each query sees at least every write
// acknowledged before it began, and no thread's count ever goes back, even
// across connections that kept snapshots of different ages.
TEST_F(SqlTest, ConcurrentQueriesSeeAcknowledgedWritesAndNeverGoBack) {
  Open();
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  constexpr int kRows = 400;
  std::atomic<int64_t> acknowledged{0};
  std::atomic<bool> done{false};
  std::atomic<int> behind{0}, backwards{0};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 6; ++t) {  // more threads than pooled connections
    readers.emplace_back([&, t] {
      int64_t last = 0;
      while (!done.load()) {
        const int64_t floor = acknowledged.load();
        const int64_t n = t % 2 == 0 ? TryCount(*db_) : CountOf(db_->Query("SELECT count(*) AS n FROM t", nullptr));
        if (n < floor) ++behind;
        if (n < last) ++backwards;
        last = n;
        ++reads;
      }
    });
  }
  std::vector<std::thread> writers;
  std::atomic<int> next_id{1};
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&] {
      for (int id; (id = next_id.fetch_add(1)) <= kRows;) {
        auto r = db_->Exec("INSERT INTO t(id, v) VALUES (?, 'x')", Json::array({id}));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        acknowledged.fetch_add(1);  // the table holds at least this many rows now
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(behind.load(), 0);
  EXPECT_EQ(backwards.load(), 0);
  EXPECT_GT(reads.load(), 100);
  EXPECT_EQ(TryCount(*db_), kRows);
}

// Snapshots kept open by idle readers would stop checkpoints from moving
// past them, and the WAL would grow with every write.
TEST_F(SqlTest, KeptSnapshotsDoNotHoldTheWal) {
  Open();
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
  Exec("INSERT INTO t(id, v) VALUES (0, zeroblob(10))");
  // Every reader takes a snapshot: more concurrent queries than readers.
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) EXPECT_EQ(TryCount(*db_), 1);
    });
  }
  for (auto& r : readers) r.join();
  // 24 MiB of writes, no reads; SQLite checkpoints every ~4 MiB of WAL.
  const std::string blob(4096, 'b');
  for (int i = 1; i <= 6144; ++i) {
    Exec("INSERT INTO t(id, v) VALUES (?, ?)", Json::array({i, blob}));
  }
  const auto wal = std::filesystem::file_size(dir_ / "sql.db-wal");
  EXPECT_LT(wal, 12u << 20) << "WAL of " << wal << " bytes: a kept snapshot held it";
  EXPECT_EQ(TryCount(*db_), 6145);
}

// VACUUM rewrites the whole file: it works as it did when no reader kept a
// transaction between queries.
TEST_F(SqlTest, VacuumRunsPastKeptSnapshots) {
  Open();
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
  for (int i = 0; i < 200; ++i) Exec("INSERT INTO t(id, v) VALUES (?, zeroblob(2000))", Json::array({i}));
  auto take_snapshots_of = [&](int64_t rows) {
    std::vector<std::thread> readers;
    for (int t = 0; t < 8; ++t) {
      readers.emplace_back([&] {
        for (int i = 0; i < 100; ++i) EXPECT_EQ(TryCount(*db_), rows);
      });
    }
    for (auto& r : readers) r.join();
  };
  take_snapshots_of(200);
  Exec("VACUUM");
  EXPECT_EQ(TryCount(*db_), 200);
  Exec("DELETE FROM t WHERE id >= 100");
  take_snapshots_of(100);
  Exec("VACUUM");
  EXPECT_EQ(TryCount(*db_), 100);
}

// Not supported, but SQLite allows it: another process writing the file is
// seen once the kept snapshot is older than kMaxSnapshotAge.
TEST_F(SqlTest, AnotherConnectionsWriteIsSeenWithinTheSnapshotAge) {
  Open();
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  EXPECT_EQ(TryCount(*db_), 0);  // a reader keeps this snapshot
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "sql.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "INSERT INTO t(id, v) VALUES (1, 'elsewhere')", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  const auto start = std::chrono::steady_clock::now();
  int64_t n = 0;
  while ((n = TryCount(*db_)) == 0 && std::chrono::steady_clock::now() - start < 4 * ReadPool::kMaxSnapshotAge) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(n, 1);
}

TEST_F(SqlTest, BackupCopiesTheLatestWrites) {
  Open();
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  EXPECT_EQ(TryCount(*db_), 0);  // a reader keeps this snapshot
  Exec("INSERT INTO t(id, v) VALUES (1, 'x')");
  const std::string copy = (dir_ / "copy.db").string();
  ASSERT_TRUE(db_->Backup(copy).ok());
  SqlOptions o = Options();
  o.path = copy;
  auto reopened = SqlDatabase::Open(o);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(CountOf((*reopened)->Query("SELECT count(*) AS n FROM t", nullptr)), 1);
}

}  // namespace
}  // namespace kissvdb::sql
