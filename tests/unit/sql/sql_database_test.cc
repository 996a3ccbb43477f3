// SqlDatabase against real SQLite files: parameter binding, result
// rendering, the read-only / one-statement rules, the safety policy, the
// limits, transactions, concurrency, durability across reopen, the change
// callback and backups.

#include "sql/sql_database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "sql/values.h"
#include "sql_test_util.h"

namespace kissvdb::sql {
namespace {

// Asserts `r` failed with `code`; returns the message.
template <typename T>
std::string ErrorOf(const Result<T>& r, Code code) {
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  return r.status().message();
}

// ---- Binding --------------------------------------------------------------

TEST_F(SqlTest, BindsEveryTypePositionally) {
  Open();
  Exec("CREATE TABLE t(a, b, c, d, e, f, g)");
  Exec("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)",
       Json::array({nullptr, true, false, int64_t{-7}, 1.5, "h\xC3\xA9llo", uint64_t{9223372036854775807ull}}));
  Json row = Rows("SELECT typeof(a) ta, typeof(b) tb, typeof(c) tc, typeof(d) td, typeof(e) te, typeof(f) tf, "
                  "typeof(g) tg, a, b, c, d, e, f, g FROM t")[0];
  EXPECT_EQ(row["ta"], "null");
  EXPECT_EQ(row["tb"], "integer");
  EXPECT_EQ(row["tc"], "integer");
  EXPECT_EQ(row["td"], "integer");
  EXPECT_EQ(row["te"], "real");
  EXPECT_EQ(row["tf"], "text");
  EXPECT_EQ(row["tg"], "integer");
  EXPECT_TRUE(row["a"].is_null());
  EXPECT_EQ(row["b"], 1);
  EXPECT_EQ(row["c"], 0);
  EXPECT_EQ(row["d"], -7);
  EXPECT_EQ(row["e"], 1.5);
  EXPECT_EQ(row["f"], "h\xC3\xA9llo");
  EXPECT_EQ(row["g"].get<int64_t>(), 9223372036854775807ll);
  // ?NNN indexes the array too.
  EXPECT_EQ(Scalar("SELECT ?2 || ?1", Json::array({"a", "b"})), "ba");
}

TEST_F(SqlTest, RefusesUnbindableParams) {
  Open();
  EXPECT_TRUE(Contains(ErrorOf(db_->Query("SELECT ?", Json::array({Json::array({1})})), Code::kInvalidArgument), "params[0]"));
  ErrorOf(db_->Query("SELECT ?", Json::array({Json::object({{"x", 1}})})), Code::kInvalidArgument);
  EXPECT_TRUE(Contains(ErrorOf(db_->Query("SELECT ?", Json::array({uint64_t{18446744073709551615ull}})), Code::kInvalidArgument), "64-bit"));
  EXPECT_TRUE(Contains(ErrorOf(db_->Query("SELECT ?, ?", Json::array({1})), Code::kInvalidArgument), "2 parameter(s) but params has 1"));
  ErrorOf(db_->Query("SELECT 1", Json::array({1})), Code::kInvalidArgument);
  ErrorOf(db_->Query("SELECT ?", Json("text")), Code::kInvalidArgument);
  // Nothing and an empty list are the same for a statement without parameters.
  EXPECT_EQ(Scalar("SELECT 1", Json::array()), 1);
  EXPECT_EQ(Scalar("SELECT 1", Json::object()), 1);
}

TEST_F(SqlTest, BindsNamedParamsWithOrWithoutSigil) {
  Open();
  Json row = Rows("SELECT :a AS a, @b AS b, $c AS c, :a + 1 AS a1",
                  Json{{":a", 1}, {"b", "two"}, {"$c", nullptr}})[0];
  EXPECT_EQ(row["a"], 1);
  EXPECT_EQ(row["b"], "two");
  EXPECT_TRUE(row["c"].is_null());
  EXPECT_EQ(row["a1"], 2);
  EXPECT_TRUE(Contains(ErrorOf(db_->Query("SELECT :a, :b", Json{{"a", 1}}), Code::kInvalidArgument), ":b"));
  EXPECT_TRUE(Contains(ErrorOf(db_->Query("SELECT :a", Json{{"a", 1}, {"typo", 2}}), Code::kInvalidArgument), "typo"));
  EXPECT_TRUE(Contains(ErrorOf(db_->Query("SELECT ?", Json{{"a", 1}}), Code::kInvalidArgument), "positional"));
  // Named parameters can also be given by position.
  EXPECT_EQ(Scalar("SELECT :x - :y", Json::array({5, 3})), 2);
}

// ---- Rendering ------------------------------------------------------------

// Decodes unpadded standard base64 (test-only, independent of the encoder).
std::string DecodeBase64(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = val(c);
    EXPECT_GE(v, 0) << "bad base64 char " << c;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

TEST_F(SqlTest, BlobsAreUnpaddedBase64) {
  Open();
  EXPECT_EQ(Scalar("SELECT x'00ff10'"), "AP8Q");
  EXPECT_EQ(Scalar("SELECT x'ff'"), "/w");
  EXPECT_EQ(Scalar("SELECT x'fffe'"), "//4");
  EXPECT_EQ(Scalar("SELECT x''"), "");
  Exec("CREATE TABLE b(id INTEGER PRIMARY KEY, data BLOB)");
  for (int n : {1, 2, 3, 4, 5, 255, 1000}) {
    Exec("INSERT INTO b(id, data) VALUES (?, randomblob(?))", Json::array({n, n}));
    Json row = Rows("SELECT data, hex(data) AS hex FROM b WHERE id = ?", Json::array({n}))[0];
    std::string raw = DecodeBase64(row["data"].get<std::string>());
    ASSERT_EQ(raw.size(), static_cast<size_t>(n));
    EXPECT_EQ(row["data"].get<std::string>().find('='), std::string::npos);
    // Round trip: decode, insert back as hex, compare in SQLite.
    std::string hex;
    for (unsigned char c : raw) {
      const char* digits = "0123456789ABCDEF";
      hex.push_back(digits[c >> 4]);
      hex.push_back(digits[c & 15]);
    }
    EXPECT_EQ(hex, row["hex"].get<std::string>());
  }
}

TEST_F(SqlTest, ReportsColumnsWithDeclaredTypes) {
  Open();
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
  auto r = db_->Query("SELECT id, name, 1 + 1 AS two FROM t", nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ColumnsJson(r->columns), Json::parse(R"([{"name":"id","decltype":"INTEGER"},
      {"name":"name","decltype":"TEXT"},{"name":"two","decltype":null}])"));
  EXPECT_TRUE(r->rows.is_array());
  EXPECT_TRUE(r->rows.empty());
}

TEST_F(SqlTest, InvalidUtf8TextBecomesReplacementCharacter) {
  Open();
  Json v = Scalar("SELECT CAST(x'ff41' AS TEXT)");
  EXPECT_EQ(v, "\xEF\xBF\xBD" "A");
  EXPECT_NO_THROW(v.dump());
}

// ---- Query / exec rules ---------------------------------------------------

TEST_F(SqlTest, QueryOnlyRunsReadOnlyStatements) {
  Open();
  Exec("CREATE TABLE t(a)");
  EXPECT_TRUE(Contains(ErrorOf(db_->Query("INSERT INTO t VALUES (1)", nullptr), Code::kInvalidArgument), "use /v1/sql/exec"));
  ErrorOf(db_->Query("DELETE FROM t", nullptr), Code::kInvalidArgument);
  ErrorOf(db_->Query("CREATE TABLE u(x)", nullptr), Code::kInvalidArgument);
  EXPECT_EQ(Scalar("SELECT count(*) FROM t"), 0);
  // Stricter than "starts with SELECT", and more useful.
  EXPECT_EQ(Scalar("WITH c(x) AS (SELECT 41) SELECT x + 1 FROM c"), 42);
  EXPECT_EQ(Scalar("  select 1"), 1);
  EXPECT_FALSE(Rows("EXPLAIN SELECT * FROM t").empty());
  EXPECT_EQ(Rows("PRAGMA table_info(t)")[0]["name"], "a");
  EXPECT_EQ(Scalar("SELECT name FROM pragma_table_info('t')"), "a");
  EXPECT_EQ(Scalar("VALUES (7)"), 7);
}

TEST_F(SqlTest, ExecRefusesPlainReads) {
  Open();
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a)");
  EXPECT_TRUE(Contains(ErrorOf(db_->Exec("SELECT 1", nullptr), Code::kInvalidArgument), "/v1/sql/query"));
  // A write that returns rows is still a write.
  ExecResult r = Exec("INSERT INTO t(a) VALUES (5) RETURNING id");
  EXPECT_EQ(r.rows_affected, 1);
  EXPECT_EQ(r.last_insert_rowid, 1);
}

TEST_F(SqlTest, ExecReportsRowsAffectedAndLastRowid) {
  Open();
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a)");
  EXPECT_EQ(Exec("INSERT INTO t(a) VALUES (1), (2), (3)").rows_affected, 3);
  ExecResult r = Exec("UPDATE t SET a = a + 1 WHERE a >= ?", Json::array({2}));
  EXPECT_EQ(r.rows_affected, 2);
  EXPECT_EQ(r.last_insert_rowid, 3);
  // DDL changes no rows, even right after a DML statement.
  EXPECT_EQ(Exec("CREATE INDEX t_a ON t(a)").rows_affected, 0);
  EXPECT_EQ(Exec("DELETE FROM t WHERE 0").rows_affected, 0);
}

TEST_F(SqlTest, RejectsSeveralStatementsInOneCall) {
  Open();
  Exec("CREATE TABLE t(a)");
  EXPECT_TRUE(Contains(ErrorOf(db_->Exec("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)", nullptr),
                      Code::kInvalidArgument), "more than one statement"));
  ErrorOf(db_->Exec("INSERT INTO t VALUES (1); DROP TABLE t", nullptr), Code::kInvalidArgument);
  ErrorOf(db_->Query("SELECT 1; SELECT 2", nullptr), Code::kInvalidArgument);
  EXPECT_EQ(Scalar("SELECT count(*) FROM t"), 0);
  // Trailing semicolons, whitespace and comments are fine.
  Exec("INSERT INTO t VALUES (1);  -- done\n /* really */ ;\n");
  EXPECT_EQ(Scalar("SELECT count(*) FROM t"), 1);
  ErrorOf(db_->Exec("   ", nullptr), Code::kInvalidArgument);
  ErrorOf(db_->Exec("-- nothing", nullptr), Code::kInvalidArgument);
}

TEST_F(SqlTest, SqliteErrorsCarryTheExtendedCode) {
  Open();
  Exec("CREATE TABLE t(a UNIQUE)");
  EXPECT_TRUE(Contains(ErrorOf(db_->Exec("SELEKT 1", nullptr), Code::kSqliteError), "syntax error (SQLITE_ERROR, extended code 1)"));
  EXPECT_TRUE(Contains(ErrorOf(db_->Query("SELECT * FROM missing", nullptr), Code::kSqliteError), "no such table"));
  Exec("INSERT INTO t VALUES (1)");
  EXPECT_TRUE(Contains(ErrorOf(db_->Exec("INSERT INTO t VALUES (1)", nullptr), Code::kSqliteError), "UNIQUE constraint failed: t.a (SQLITE_CONSTRAINT_UNIQUE, extended code 2067)"));
}

// ---- Safety ---------------------------------------------------------------

TEST_F(SqlTest, RefusesDangerousStatements) {
  Open();
  std::string other = (dir_ / "other.db").string();
  EXPECT_TRUE(Contains(ErrorOf(db_->Exec("ATTACH ? AS o", Json::array({other})), Code::kInvalidArgument), "ATTACH"));
  ErrorOf(db_->Query("ATTACH '" + other + "' AS o", nullptr), Code::kInvalidArgument);
  ErrorOf(db_->Exec("DETACH o", nullptr), Code::kInvalidArgument);
  EXPECT_TRUE(Contains(ErrorOf(db_->Query("SELECT load_extension('/tmp/evil')", nullptr), Code::kInvalidArgument), "load_extension"));
  for (const char* pragma :
       {"PRAGMA journal_mode=DELETE", "PRAGMA writable_schema=ON", "PRAGMA synchronous=OFF", "PRAGMA locking_mode=EXCLUSIVE",
        "PRAGMA page_size=512", "PRAGMA auto_vacuum=FULL", "PRAGMA mmap_size=1000000", "PRAGMA temp_store_directory='/tmp'",
        "PRAGMA cache_size=-1000000", "PRAGMA foreign_keys=ON", "PRAGMA main.journal_mode=MEMORY",
        "PRAGMA database_list"}) {
    EXPECT_TRUE(Contains(ErrorOf(db_->Exec(pragma, nullptr), Code::kInvalidArgument), "PRAGMA")) << pragma;
    ErrorOf(db_->Query(pragma, nullptr), Code::kInvalidArgument);
  }
  EXPECT_TRUE(Contains(ErrorOf(db_->Exec("VACUUM INTO ?", Json::array({other})), Code::kInvalidArgument), "VACUUM INTO"));
  ErrorOf(db_->Exec("vacuum main /* c */ into '" + other + "'", nullptr), Code::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(other));
  // Client transaction control would leak a transaction into later calls.
  for (const char* sql : {"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK", "SAVEPOINT s", "RELEASE s"}) {
    EXPECT_TRUE(Contains(ErrorOf(db_->Exec(sql, nullptr), Code::kInvalidArgument), "/v1/sql/transaction")) << sql;
    ErrorOf(db_->Query(sql, nullptr), Code::kInvalidArgument);
  }
  // Durability settings are unchanged, and harmless pragmas still work.
  EXPECT_EQ(Scalar("SELECT * FROM pragma_journal_mode"), "wal");
  EXPECT_EQ(Scalar("PRAGMA synchronous"), 2);  // FULL
  Exec("PRAGMA user_version = 7");
  EXPECT_EQ(Scalar("PRAGMA user_version"), 7);
  Exec("CREATE TABLE t(a)");
  Exec("VACUUM");
  EXPECT_EQ(Scalar("PRAGMA integrity_check"), "ok");
}

TEST_F(SqlTest, ReservedTablesAreTheServers) {
  {  // the server's own table, created outside the SQL API
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "sql.db").c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE kissvdb_keys(id, hash); INSERT INTO kissvdb_keys VALUES (1, 'h')",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  Open();
  for (const char* sql : {"SELECT * FROM kissvdb_keys", "SELECT count(*) FROM main.KISSVDB_KEYS",
                          "SELECT * FROM (SELECT hash FROM kissvdb_keys)"}) {
    EXPECT_TRUE(Contains(ErrorOf(db_->Query(sql, nullptr), Code::kInvalidArgument), "reserved")) << sql;
  }
  for (const char* sql : {"INSERT INTO kissvdb_keys VALUES (2, 'x')", "DELETE FROM kissvdb_keys",
                          "DROP TABLE kissvdb_keys", "CREATE TABLE kissvdb_other(a)",
                          "CREATE INDEX k ON kissvdb_keys(hash)", "ALTER TABLE kissvdb_keys ADD COLUMN c"}) {
    EXPECT_TRUE(Contains(ErrorOf(db_->Exec(sql, nullptr), Code::kInvalidArgument), "reserved")) << sql;
  }
  Exec("CREATE TABLE mine(a)");
  ErrorOf(db_->Exec("INSERT INTO mine SELECT hash FROM kissvdb_keys", nullptr), Code::kInvalidArgument);
  Exec("VACUUM");  // VACUUM copies every table, reserved ones included
}

TEST_F(SqlTest, DefensiveModeIsOn) {
  Open();
  // Even if writable_schema were reachable, defensive mode keeps
  // sqlite_master read-only.
  ErrorOf(db_->Exec("DELETE FROM sqlite_master", nullptr), Code::kSqliteError);
}

TEST_F(SqlTest, NormalSynchronousWhenNotAlwaysDurable) {
  SqlOptions o = Options();
  o.synchronous_full = false;
  Open(o);
  EXPECT_EQ(Scalar("PRAGMA synchronous"), 1);  // NORMAL
}

// ---- Limits ---------------------------------------------------------------

TEST_F(SqlTest, RunawayQueryTimesOut) {
  SqlOptions o = Options();
  o.statement_timeout_ms = 200;
  Open(o);
  auto start = std::chrono::steady_clock::now();
  auto r = db_->Query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c", nullptr);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(Contains(ErrorOf(r, Code::kRequestTimeout), "timed out after 200 ms"));
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  EXPECT_GE(elapsed, std::chrono::milliseconds(190));
  // The connection is fine afterwards, and so is the write path.
  EXPECT_EQ(Scalar("SELECT 1"), 1);
  Exec("CREATE TABLE t(a)");
  ErrorOf(db_->Exec("INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c",
                    nullptr),
          Code::kRequestTimeout);
  EXPECT_EQ(Scalar("SELECT count(*) FROM t"), 0);
}

TEST_F(SqlTest, LimitsRowsAndBytes) {
  SqlOptions o = Options();
  o.max_rows = 100;
  o.max_result_bytes = 10000;
  Open(o);
  const char* kSeries = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < ?) SELECT x FROM c";
  EXPECT_EQ(Rows(kSeries, Json::array({100})).size(), 100u);
  EXPECT_TRUE(Contains(ErrorOf(db_->Query(kSeries, Json::array({101})), Code::kPayloadTooLarge), "100 rows"));
  EXPECT_TRUE(Contains(ErrorOf(db_->Query("SELECT zeroblob(20000)", nullptr), Code::kPayloadTooLarge), "10000 bytes"));
  EXPECT_EQ(Scalar("SELECT length(zeroblob(20000))"), 20000);
}

TEST_F(SqlTest, LimitsValueSize) {
  SqlOptions o = Options();
  o.max_value_bytes = 1 << 20;
  Open(o);
  EXPECT_TRUE(Contains(ErrorOf(db_->Query("SELECT length(randomblob(2000000))", nullptr), Code::kSqliteError), "SQLITE_TOOBIG"));
}

// ---- Transactions ---------------------------------------------------------

TEST_F(SqlTest, TransactionCommitsAll) {
  Open();
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a UNIQUE)");
  auto r = db_->Transaction({{"INSERT INTO t(a) VALUES (?)", Json::array({1})},
                             {"INSERT INTO t(a) VALUES (:a)", Json{{"a", 2}}},
                             {"UPDATE t SET a = a * 10", nullptr}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].last_insert_rowid, 1);
  EXPECT_EQ((*r)[1].last_insert_rowid, 2);
  EXPECT_EQ((*r)[2].rows_affected, 2);
  EXPECT_EQ(ExecResultJson((*r)[2]), Json::parse(R"({"rows_affected":2,"last_insert_rowid":2})"));
  EXPECT_EQ(Scalar("SELECT sum(a) FROM t"), 30);
}

TEST_F(SqlTest, TransactionRollsBackOnFirstError) {
  Open();
  Exec("CREATE TABLE t(a UNIQUE)");
  Exec("INSERT INTO t VALUES (0)");
  auto r = db_->Transaction({{"INSERT INTO t VALUES (1)", nullptr},
                             {"INSERT INTO t VALUES (2)", nullptr},
                             {"INSERT INTO t VALUES (1)", nullptr},
                             {"INSERT INTO t VALUES (3)", nullptr}});
  std::string msg = ErrorOf(r, Code::kSqliteError);
  EXPECT_EQ(msg.rfind("statements[2]: ", 0), 0u) << msg;
  EXPECT_TRUE(Contains(msg, "SQLITE_CONSTRAINT_UNIQUE"));
  EXPECT_EQ(Scalar("SELECT count(*) FROM t"), 1);

  // A refused statement and a bad parameter roll back the same way.
  EXPECT_TRUE(Contains(ErrorOf(db_->Transaction({{"INSERT INTO t VALUES (5)", nullptr}, {"PRAGMA journal_mode=DELETE", nullptr}}),
                      Code::kInvalidArgument), "statements[1]: "));
  ErrorOf(db_->Transaction({{"INSERT INTO t VALUES (5)", nullptr}, {"INSERT INTO t VALUES (?)", Json::array()}}),
          Code::kInvalidArgument);
  ErrorOf(db_->Transaction({{"INSERT INTO t VALUES (5)", nullptr}, {"COMMIT", nullptr}}), Code::kInvalidArgument);
  EXPECT_EQ(Scalar("SELECT count(*) FROM t"), 1);

  // Later calls are not inside a leftover transaction.
  Exec("INSERT INTO t VALUES (6)");
  EXPECT_EQ(Scalar("SELECT count(*) FROM t"), 2);
  ErrorOf(db_->Transaction({}), Code::kInvalidArgument);
}

TEST_F(SqlTest, TransactionRollsBackOnTimeout) {
  SqlOptions o = Options();
  o.statement_timeout_ms = 100;
  Open(o);
  Exec("CREATE TABLE t(a)");
  auto r = db_->Transaction(
      {{"INSERT INTO t VALUES (1)", nullptr},
       {"INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c", nullptr}});
  EXPECT_TRUE(Contains(ErrorOf(r, Code::kRequestTimeout), "statements[1]"));
  EXPECT_EQ(Scalar("SELECT count(*) FROM t"), 0);
  Exec("INSERT INTO t VALUES (2)");
  EXPECT_EQ(Scalar("SELECT count(*) FROM t"), 1);
}

// ---- Change callback ------------------------------------------------------

TEST_F(SqlTest, ChangeCallbackNamesTables) {
  std::vector<Json> seen;
  SqlOptions o = Options();
  o.on_change = [&](const Json& info) { seen.push_back(info); };
  Open(o);

  Exec("CREATE TABLE a(x)");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], Json::parse(R"({"tables":["a"],"rows_affected":0,"statement":"exec"})"));

  Exec("CREATE TABLE log(x)");
  Exec("CREATE TRIGGER a_log AFTER INSERT ON a BEGIN INSERT INTO log VALUES (new.x); END");
  seen.clear();
  Exec("INSERT INTO a VALUES (1), (2)");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], Json::parse(R"({"tables":["a","log"],"rows_affected":2,"statement":"exec"})"));

  seen.clear();
  Exec("UPDATE a SET x = 0 WHERE 0");               // changed nothing
  ErrorOf(db_->Exec("INSERT INTO nope VALUES (1)", nullptr), Code::kSqliteError);  // failed
  Rows("SELECT * FROM a");                          // a read
  Exec("DROP TABLE IF EXISTS missing");             // no-op DDL
  EXPECT_TRUE(seen.empty()) << Json(seen).dump();

  auto r = db_->Transaction({{"DELETE FROM a WHERE x = 1", nullptr}, {"UPDATE log SET x = 9", nullptr}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], Json::parse(R"({"tables":["a","log"],"rows_affected":3,"statement":"transaction"})"));

  seen.clear();
  Exec("ALTER TABLE a ADD COLUMN y");
  Exec("DROP TABLE log");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0]["tables"], Json::array({"a"}));
  EXPECT_EQ(seen[1]["tables"], Json::array({"log"}));
}

TEST_F(SqlTest, CachedStatementSurvivesSchemaChange) {
  std::vector<Json> seen;
  SqlOptions o = Options();
  o.on_change = [&](const Json& info) { seen.push_back(info); };
  Open(o);
  Exec("CREATE TABLE t(a)");
  Exec("INSERT INTO t VALUES (1)");
  EXPECT_EQ(Rows("SELECT * FROM t"), Json::parse(R"([{"a":1}])"));
  Exec("DROP TABLE t");
  Exec("CREATE TABLE t(b, c)");
  Exec("INSERT INTO t VALUES (2, 3)");
  EXPECT_EQ(Rows("SELECT * FROM t"), Json::parse(R"([{"b":2,"c":3}])"));
  // The same CREATE text, first a no-op, then (from the cache) a real change.
  Exec("CREATE TABLE IF NOT EXISTS u(x)");
  Exec("DROP TABLE u");
  seen.clear();
  Exec("CREATE TABLE IF NOT EXISTS u(x)");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["tables"], Json::array({"u"}));
  // Now it exists: running the cached statement again changes nothing.
  seen.clear();
  Exec("CREATE TABLE IF NOT EXISTS u(x)");
  Exec("CREATE INDEX IF NOT EXISTS t_b ON t(b)");
  Exec("CREATE INDEX IF NOT EXISTS t_b ON t(b)");
  ASSERT_EQ(seen.size(), 1u) << Json(seen).dump();
  EXPECT_EQ(seen[0]["tables"], Json::array({"t"}));
}

// ---- Concurrency, durability, backup --------------------------------------

TEST_F(SqlTest, ConcurrentReadersWithAWriter) {
  Open();
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  constexpr int kRows = 300;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 6; ++t) {  // more threads than pooled connections
    readers.emplace_back([&] {
      int64_t last = 0;
      while (!done.load()) {
        auto r = db_->Query("SELECT count(*) AS n, coalesce(max(id), 0) AS m FROM t", nullptr);
        if (!r.ok()) {
          ++failures;
          continue;
        }
        int64_t n = r->rows[0]["n"].get<int64_t>();
        if (n < last || n != r->rows[0]["m"].get<int64_t>()) ++failures;  // snapshot, monotonic
        last = n;
        ++reads;
      }
    });
  }
  for (int i = 1; i <= kRows; ++i) {
    auto r = db_->Exec("INSERT INTO t(id, v) VALUES (?, ?)", Json::array({i, "row " + std::to_string(i)}));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM t"), kRows);
}

TEST_F(SqlTest, TryQueryAnswersQuickQueriesAndGivesUpOnTheRest) {
  SqlOptions o = Options();
  o.read_connections = 2;
  o.statement_timeout_ms = 2000;
  Open(o);
  Exec("CREATE TABLE t(a)");
  Exec("INSERT INTO t VALUES (1), (2), (3)");
  // The budget for quick queries is generous: a loaded CI machine may take
  // milliseconds to open a statement, and the test is about giving up on
  // long queries, not about how fast short ones are.
  constexpr auto kBudget = std::chrono::seconds(2);
  constexpr auto kShortBudget = std::chrono::milliseconds(20);
  // Quick: answered, errors included (they are answers too).
  auto quick = db_->TryQuery("SELECT a FROM t WHERE a = ?", Json::array({2}), kBudget);
  ASSERT_TRUE(quick.has_value());
  ASSERT_TRUE(quick->ok()) << quick->status().ToString();
  EXPECT_EQ((*quick)->rows, Json::parse(R"([{"a":2}])"));
  auto refused = db_->TryQuery("DELETE FROM t", nullptr, kBudget);
  ASSERT_TRUE(refused.has_value());
  ErrorOf(*refused, Code::kInvalidArgument);

  // Long, in the VM: interrupted at the budget, far before the timeout.
  const char* kRunaway = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c";
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(db_->TryQuery(kRunaway, nullptr, kShortBudget).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  // Long because of many rows, each quick to step: also given up.
  start = std::chrono::steady_clock::now();
  EXPECT_FALSE(db_->TryQuery("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 10000) "
                             "SELECT x, printf('%0500d', x) AS pad FROM c",
                             nullptr, std::chrono::microseconds(1))
                   .has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  // The connections are fine afterwards.
  EXPECT_EQ(Scalar("SELECT count(*) FROM t"), 3);

  // Every read connection busy: gives up at once, without waiting.
  std::vector<std::thread> busy;
  std::atomic<int> done{0};
  for (int i = 0; i < 2; ++i) {
    busy.emplace_back([&] {
      ErrorOf(db_->Query(kRunaway, nullptr), Code::kRequestTimeout);
      done++;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(db_->TryQuery("SELECT 1", nullptr, std::chrono::seconds(10)).has_value());
  EXPECT_EQ(done.load(), 0) << "TryQuery did not wait for a connection";
  for (auto& t : busy) t.join();

  // Without read connections (queries share the writer's lock): never tried.
  SqlOptions none = Options();
  none.read_connections = 0;
  Open(none);
  EXPECT_FALSE(db_->TryQuery("SELECT 1", nullptr, kShortBudget).has_value());
}

TEST_F(SqlTest, WorksWithoutReadConnections) {
  SqlOptions o = Options();
  o.read_connections = 0;
  o.statement_cache_size = 0;
  Open(o);
  Exec("CREATE TABLE t(a)");
  Exec("INSERT INTO t VALUES (1)");
  EXPECT_EQ(Scalar("SELECT a FROM t"), 1);
  ErrorOf(db_->Query("INSERT INTO t VALUES (2)", nullptr), Code::kInvalidArgument);
}

TEST_F(SqlTest, DurableAcrossReopen) {
  Open();
  Exec("CREATE TABLE t(a)");
  Exec("INSERT INTO t VALUES ('kept')");
  Open();
  EXPECT_EQ(Scalar("SELECT a FROM t"), "kept");
  EXPECT_EQ(Scalar("SELECT * FROM pragma_journal_mode"), "wal");
}

TEST_F(SqlTest, BackupIsAConsistentCopy) {
  Open();
  Exec("CREATE TABLE t(a)");
  Exec("INSERT INTO t VALUES (1), (2)");
  std::string copy = (dir_ / "backup" ).string();
  std::filesystem::create_directories(copy);
  copy += "/sql.db";
  ASSERT_TRUE(db_->Backup(copy).ok());
  Exec("INSERT INTO t VALUES (3)");  // after the backup
  EXPECT_FALSE(std::filesystem::exists(copy + ".tmp"));
  SqlOptions o = Options();
  o.path = copy;
  auto restored = SqlDatabase::Open(o);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  auto r = (*restored)->Query("SELECT count(*) AS n FROM t", nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rows[0]["n"], 2);
}

TEST_F(SqlTest, OpenFailsCleanlyOnABadPath) {
  SqlOptions o = Options();
  std::filesystem::create_directories(dir_ / "adir");
  o.path = (dir_ / "adir").string();  // a directory, not a file
  auto r = SqlDatabase::Open(o);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPersistenceError);
}

TEST(SqlOptionsTest, FromConfig) {
  Config c;
  c.data_dir = "/var/lib/kissvdb";
  SqlOptions o = SqlOptionsFromConfig(c);
  EXPECT_EQ(o.path, "/var/lib/kissvdb/sql.db");
  EXPECT_TRUE(o.synchronous_full);
  c.sqlite_path = "/elsewhere/x.db";
  c.durability = Durability::kInterval;
  o = SqlOptionsFromConfig(c);
  EXPECT_EQ(o.path, "/elsewhere/x.db");
  EXPECT_FALSE(o.synchronous_full);
}

}  // namespace
}  // namespace kissvdb::sql
