// SqlDatabase::QueryJson writes the /v1/sql/query body straight from the
// statement. These tests hold it to the Json tree the route used to dump:
// the same bytes for every value type, key order, repeated names, escapes
// and invalid UTF-8, and the same limits.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "sql_test_util.h"

namespace kissvdb::sql {
namespace {

// What the route sent before QueryJson: a Json tree, dumped.
std::string Dumped(const Json& columns, const Json& rows) {
  return Json{{"rows", rows}, {"columns", columns}}.dump(-1, ' ', false, Json::error_handler_t::replace);
}

class QueryJsonTest : public SqlTest {
 protected:
  std::string Body(const std::string& sql, const Json& params = nullptr) {
    auto r = db_->QueryJson(sql, params);
    EXPECT_TRUE(r.ok()) << sql << " -> " << r.status().ToString();
    return r.ok() ? *r : std::string();
  }
};

TEST_F(QueryJsonTest, EveryValueTypeIsWrittenAsTheDumpedTreeWas) {
  Open();
  Exec("CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB, n)");
  Exec("INSERT INTO t VALUES (?, ?, ?, x'00ff10', NULL)", Json::array({std::numeric_limits<int64_t>::min(), 0.1,
                                                                        "tab\there \"q\" \\ \u00e9 \u2028 \x01"}));
  Exec("INSERT INTO t VALUES (9223372036854775807, 1.0, '', x'', 1e300)");
  Exec("INSERT INTO t VALUES (0, 0.0, 'x', NULL, 2.5e-308)");
  Exec("INSERT INTO t VALUES (-1, 9e999, NULL, NULL, -9e999)");  // +/- infinity
  const std::string body = Body("SELECT * FROM t ORDER BY rowid");

  Json rows = Json::array();
  rows.push_back(Json{{"i", std::numeric_limits<int64_t>::min()},
                      {"r", 0.1},
                      {"s", "tab\there \"q\" \\ \u00e9 \u2028 \x01"},
                      {"b", "AP8Q"},
                      {"n", nullptr}});
  rows.push_back(Json{{"i", std::numeric_limits<int64_t>::max()}, {"r", 1.0}, {"s", ""}, {"b", ""}, {"n", 1e300}});
  rows.push_back(Json{{"i", 0}, {"r", 0.0}, {"s", "x"}, {"b", nullptr}, {"n", 2.5e-308}});
  rows.push_back(Json{{"i", -1},
                      {"r", std::numeric_limits<double>::infinity()},
                      {"s", nullptr},
                      {"b", nullptr},
                      {"n", -std::numeric_limits<double>::infinity()}});
  Json columns = Json::array({Json{{"name", "i"}, {"decltype", "INTEGER"}}, Json{{"name", "r"}, {"decltype", "REAL"}},
                              Json{{"name", "s"}, {"decltype", "TEXT"}}, Json{{"name", "b"}, {"decltype", "BLOB"}},
                              Json{{"name", "n"}, {"decltype", nullptr}}});
  EXPECT_EQ(body, Dumped(columns, rows));
  EXPECT_NE(body.find("\"n\":null,\"r\":null"), std::string::npos) << body;  // infinity: null, as dump writes it
}

TEST_F(QueryJsonTest, KeysAreSortedAndARepeatedNameKeepsItsLastValue) {
  Open();
  // Upper case sorts before lower case, a multi-byte name after both, a
  // quote in a name is escaped; "a" appears twice.
  const std::string body = Body("SELECT 1 AS b, 2 AS a, 3 AS \"Z\", 4 AS \"\u00e9t\u00e9\", 5 AS a, 6 AS \"q\"\"x\"");
  Json row = Json::object();
  row["b"] = 1;
  row["a"] = 2;
  row["Z"] = 3;
  row["\u00e9t\u00e9"] = 4;
  row["a"] = 5;
  row["q\"x"] = 6;
  Json columns = Json::array();
  for (const char* name : {"b", "a", "Z", "\u00e9t\u00e9", "a", "q\"x"}) {
    columns.push_back(Json{{"name", name}, {"decltype", nullptr}});
  }
  EXPECT_EQ(body, Dumped(columns, Json::array({row})));
  EXPECT_NE(body.find("{\"Z\":3,\"a\":5,\"b\":1,\"q\\\"x\":6,\"\u00e9t\u00e9\":4}"), std::string::npos) << body;
}

TEST_F(QueryJsonTest, InvalidUtf8IsReplacedAsDumpReplacesIt) {
  Open();
  Exec("CREATE TABLE t(s TEXT)");
  // Bytes that are not UTF-8, stored as TEXT through a cast of a blob.
  Exec("INSERT INTO t VALUES (CAST(x'61ff62c3' AS TEXT))");
  const std::string body = Body("SELECT s, CAST(x'80' AS TEXT) AS \"k\" FROM t");
  Json row{{"s", "a\xEF\xBF\xBD" "b\xEF\xBF\xBD"}, {"k", "\xEF\xBF\xBD"}};
  Json columns = Json::array({Json{{"name", "s"}, {"decltype", "TEXT"}}, Json{{"name", "k"}, {"decltype", nullptr}}});
  EXPECT_EQ(body, Dumped(columns, Json::array({row})));
  EXPECT_TRUE(Json::accept(body)) << body;
}

TEST_F(QueryJsonTest, AnEmptyResultStillDescribesItsColumns) {
  Open();
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  EXPECT_EQ(Body("SELECT id, v FROM t WHERE id = ?", Json::array({7})),
            R"({"columns":[{"decltype":"INTEGER","name":"id"},{"decltype":"TEXT","name":"v"}],"rows":[]})");
  // The same through Query, which reads the text back.
  auto r = db_->Query("SELECT id, v FROM t", nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rows, Json::array());
  ASSERT_EQ(r->columns.size(), 2u);
  EXPECT_EQ(r->columns[1].decltype_name, std::optional<std::string>("TEXT"));
}

TEST_F(QueryJsonTest, TheLimitsHoldAsBefore) {
  SqlOptions o = Options();
  o.max_rows = 3;
  Open(o);
  Exec("CREATE TABLE t(v)");
  for (int i = 0; i < 4; ++i) Exec("INSERT INTO t VALUES (?)", Json::array({i}));
  EXPECT_EQ(Body("SELECT v FROM t LIMIT 3"),
            R"({"columns":[{"decltype":null,"name":"v"}],"rows":[{"v":0},{"v":1},{"v":2}]})");
  auto over = db_->QueryJson("SELECT v FROM t", nullptr);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), Code::kPayloadTooLarge);

  o.max_rows = 1000;
  o.max_result_bytes = 100;
  Open(o);
  auto big = db_->QueryJson("SELECT printf('%.200c', 'x') AS s", nullptr);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Code::kPayloadTooLarge);
  EXPECT_TRUE(Contains(big.status().message(), "max_result_bytes"));
}

}  // namespace
}  // namespace kissvdb::sql
