// kill -9 durability: a child process writes rows and reports each id after
// its Exec/Transaction returned; the parent kills it mid-stream with
// SIGKILL, reopens the database and checks that every acknowledged row is
// there. (A process kill keeps the OS page cache, so this checks SQLite's
// commit protocol and ours, not the fsyncs; power loss is out of scope for a
// unit test.)

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <set>

#include "sql/sql_database.h"
#include "sql_test_util.h"

namespace kissvdb::sql {
namespace {

// Runs in the child: insert forever, acknowledging each id on `fd`.
[[noreturn]] void WriteUntilKilled(const SqlOptions& options, int fd) {
  signal(SIGPIPE, SIG_IGN);
  auto db = SqlDatabase::Open(options);
  if (!db.ok()) _exit(2);
  for (int64_t id = 1;; id += 2) {
    bool ok;
    if (id % 10 == 1) {  // every fifth write is a two-row transaction
      ok = (*db)->Transaction({{"INSERT INTO t(id, v) VALUES (?, 'tx')", Json::array({id})},
                               {"INSERT INTO t(id, v) VALUES (?, 'tx')", Json::array({id + 1})}})
               .ok();
    } else {
      ok = (*db)->Exec("INSERT INTO t(id, v) VALUES (?, ?)", Json::array({id, "row"})).ok() &&
           (*db)->Exec("INSERT INTO t(id, v) VALUES (?, ?)", Json::array({id + 1, "row"})).ok();
    }
    if (!ok) _exit(3);
    int64_t acked[2] = {id, id + 1};
    if (write(fd, acked, sizeof(acked)) != static_cast<ssize_t>(sizeof(acked))) _exit(4);
  }
}

TEST_F(SqlTest, AcknowledgedWritesSurviveKill9) {
  SqlOptions options = Options();
  Open(options);
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  db_.reset();  // the parent must not hold the file open across fork()

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    WriteUntilKilled(options, fds[1]);
  }
  close(fds[1]);

  std::set<int64_t> acked;
  int64_t id;
  while (acked.size() < 400 && read(fds[0], &id, sizeof(id)) == static_cast<ssize_t>(sizeof(id))) {
    acked.insert(id);
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  while (read(fds[0], &id, sizeof(id)) == static_cast<ssize_t>(sizeof(id))) acked.insert(id);  // in flight
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
  ASSERT_GE(acked.size(), 400u);

  Open(options);
  auto r = db_->Query("SELECT id, v FROM t ORDER BY id", nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::set<int64_t> present, in_tx;
  for (const Json& row : r->rows) {
    present.insert(row["id"].get<int64_t>());
    if (row["v"] == "tx") in_tx.insert(row["id"].get<int64_t>());
  }
  for (int64_t a : acked) EXPECT_TRUE(present.count(a)) << "acknowledged id " << a << " was lost";
  // Transactions are all-or-nothing: their ids come in complete pairs.
  for (int64_t p : in_tx) EXPECT_TRUE(in_tx.count(p % 2 ? p + 1 : p - 1)) << "half of transaction " << p;
  EXPECT_EQ(Scalar("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace kissvdb::sql
