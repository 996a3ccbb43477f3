// /v1/sql/* against the real binary: shapes, errors, safety, the `sql`
// change event, durability across kill -9, and the disabled mode.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

class SqlApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    client_ = server_.Client();
  }
  HttpResponse Exec(const std::string& sql, json params = json::array()) {
    return client_->Post("/v1/sql/exec", {{"sql", sql}, {"params", params}});
  }
  HttpResponse Query(const std::string& sql, json params = json::array()) {
    return client_->Post("/v1/sql/query", {{"sql", sql}, {"params", params}});
  }
  TestServer server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(SqlApiTest, ExecQueryShapesAndParams) {
  ASSERT_EQ(Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, ok INTEGER, data BLOB)").status, 200);
  auto ins = Exec("INSERT INTO t(name, score, ok, data) VALUES (?, ?, ?, x'00ff')", {"ann", 1.5, true});
  ASSERT_EQ(ins.status, 200) << ins.body;
  EXPECT_EQ(ins.json["rows_affected"], 1);
  EXPECT_EQ(ins.json["last_insert_rowid"], 1);
  auto named = client_->Post("/v1/sql/exec", {{"sql", "INSERT INTO t(name) VALUES (:name)"}, {"params", {{":name", "bob"}}}});
  EXPECT_EQ(named.status, 200) << named.body;
  auto q = Query("SELECT id, name, score, ok, data FROM t WHERE name = ?", {"ann"});
  ASSERT_EQ(q.status, 200) << q.body;
  ASSERT_EQ(q.json["rows"].size(), 1u);
  EXPECT_EQ(q.json["rows"][0], (json{{"id", 1}, {"name", "ann"}, {"score", 1.5}, {"ok", 1}, {"data", "AP8"}}));
  EXPECT_EQ(q.json["columns"][1]["name"], "name");
  EXPECT_EQ(q.json["columns"][1]["decltype"], "TEXT");
  auto injected = Query("SELECT count(*) AS n FROM t WHERE name = ?", {"x' OR '1'='1"});
  EXPECT_EQ(injected.json["rows"][0]["n"], 0) << "parameters are bound, never interpolated";
}

TEST_F(SqlApiTest, ErrorsAndSafety) {
  auto bad = Exec("CREATE TABLE");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json["error"], "sqlite_error");
  ASSERT_EQ(Exec("CREATE TABLE t(x)").status, 200);
  EXPECT_EQ(Query("INSERT INTO t VALUES (1)").status, 400) << "query is read-only";
  EXPECT_EQ(Exec("INSERT INTO t VALUES (1); DROP TABLE t").status, 400) << "one statement per exec";
  EXPECT_EQ(Exec("ATTACH DATABASE '/tmp/x.db' AS x").status, 400);
  EXPECT_EQ(Exec("PRAGMA journal_mode=DELETE").status, 400);
  EXPECT_EQ(Query("SELECT load_extension('x')").status, 400);
  auto runaway = Query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c");
  EXPECT_EQ(runaway.status, 408) << runaway.body;
  EXPECT_EQ(runaway.json["error"], "request_timeout");
  auto tx = client_->Post("/v1/sql/transaction",
                          {{"statements", {{{"sql", "INSERT INTO t VALUES (2)"}}, {{"sql", "INSERT INTO nope VALUES (1)"}}}}});
  EXPECT_EQ(tx.status, 400);
  EXPECT_EQ(Query("SELECT count(*) AS n FROM t").json["rows"][0]["n"], 0) << "the transaction rolled back";
}

TEST_F(SqlApiTest, WritesAreAnnouncedOnTheLogAndSurviveKill) {
  ASSERT_EQ(Exec("CREATE TABLE notes(body TEXT)").status, 200);
  ASSERT_EQ(Exec("INSERT INTO notes VALUES ('kept')").status, 200);
  bool announced = false;
  for (int i = 0; i < 50 && !announced; ++i) {
    auto log = client_->Get("/v1/log?since=0");
    for (const auto& ev : log.json["events"]) {
      announced |= ev["type"] == "sql" && ev["data"]["tables"].dump().find("notes") != std::string::npos;
    }
    if (!announced) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(announced) << "a `sql` event names the table: " << client_->Get("/v1/log?since=0").body;
  server_.Kill();
  ASSERT_TRUE(server_.Start()) << server_.output();
  client_ = server_.Client();
  EXPECT_EQ(Query("SELECT body FROM notes").json["rows"][0]["body"], "kept");
}

// SQL statements run on their own threads: statements that run until the
// statement timeout, more of them than there are I/O threads, do not stop
// the server from answering health checks, KV requests and other SQL.
TEST(SqlOffIoThreadsTest, LongStatementsDoNotStallOtherRequests) {
  TestServerOptions options;
  options.args = {"--io-threads", "2"};
  TestServer server(options);
  ASSERT_TRUE(server.Start()) << server.output();
  auto client = server.Client();
  ASSERT_EQ(client->Post("/v1/sql/exec", {{"sql", "CREATE TABLE t(x)"}}).status, 200);

  constexpr int kLong = 4;  // one per SQLite read connection, twice the I/O threads
  std::atomic<int> running{kLong};
  std::vector<int> statuses(kLong, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kLong; ++i) {
    threads.emplace_back([&, i] {
      auto c = server.Client();
      statuses[i] =
          c->Post("/v1/sql/query", {{"sql", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) "
                                            "SELECT count(*) FROM c"}})
              .status;
      running.fetch_sub(1);
    });
  }
  // Let the statements start; they run until the statement timeout (5 s).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(running.load(), kLong);
  EXPECT_EQ(server.Client(false)->Get("/v1/health").status, 200);
  EXPECT_EQ(client->Put("/v1/state/k", {{"value", 1}}).status, 200);
  EXPECT_EQ(client->Get("/v1/state/k").json["value"], 1);
  EXPECT_EQ(client->Post("/v1/sql/exec", {{"sql", "INSERT INTO t VALUES (1)"}}).status, 200);
  EXPECT_EQ(running.load(), kLong) << "every request above was answered while the long statements ran";
  for (auto& t : threads) t.join();
  for (int st : statuses) EXPECT_EQ(st, 408);
  EXPECT_EQ(client->Post("/v1/sql/query", {{"sql", "SELECT count(*) AS n FROM t"}}).json["rows"][0]["n"], 1);
}

TEST(SqlDisabledTest, RoutesAnswerNotEnabled) {
  TestServerOptions options;
  options.args = {"--no-sqlite"};
  TestServer server(options);
  ASSERT_TRUE(server.Start()) << server.output();
  auto r = server.Client()->Post("/v1/sql/query", {{"sql", "SELECT 1"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json["error"], "not_enabled");
}

}  // namespace
}  // namespace kissvdb::testing
