// Fuzzes SQL parameter decoding (src/sql/values.h): binding the JSON
// `params` of /v1/sql requests to a prepared statement, and rendering the
// bound values back as JSON columns.
//
// Input: one line of SQL, then the JSON params. The statement is prepared on
// an in-memory database; if it does not prepare, a statement with every kind
// of parameter (?, ?NNN, :x, @x, $x) is used instead. A read-only statement
// that binds is stepped for a few rows (bounded by a progress handler), each
// column rendered with ColumnJson.
//
// Checked: no crash or exception; a bind error is InvalidArgument or
// SqliteError; rendered rows serialize to valid JSON; ToValidUtf8 always
// yields valid UTF-8.
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sql/values.h"
#include "util/utf8.h"

namespace {

using namespace kissvdb;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "sql_params_fuzz: %s\n", what);
    std::abort();
  }
}

constexpr const char* kDefaultSql = "SELECT ?, ?3, :name, @at, $dollar, ?";

sqlite3* Db() {
  static sqlite3* db = [] {
    sqlite3* d = nullptr;
    if (sqlite3_open(":memory:", &d) != SQLITE_OK) std::abort();
    // Stop runaway statements (recursive CTEs) instead of timing out.
    sqlite3_progress_handler(d, 1000, [](void*) { return 1; }, nullptr);
    sqlite3_limit(d, SQLITE_LIMIT_ATTACHED, 0);  // no files from ATTACH
    return d;
  }();
  return db;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string sql(nl == std::string_view::npos ? std::string_view() : input.substr(0, nl));
  const std::string_view params_text = nl == std::string_view::npos ? input : input.substr(nl + 1);

  const std::string valid = sql::ToValidUtf8(params_text);
  Check(utf8::IsValid(valid), "ToValidUtf8 returned invalid UTF-8");
  (void)sql::Base64NoPad(params_text);

  Json params = Json::parse(params_text.begin(), params_text.end(), nullptr, /*allow_exceptions=*/false);
  if (params.is_discarded()) return 0;

  sqlite3_stmt* stmt = nullptr;
  if (sql.empty() || sqlite3_prepare_v2(Db(), sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK ||
      stmt == nullptr) {
    sqlite3_finalize(stmt);
    stmt = nullptr;
    if (sqlite3_prepare_v2(Db(), kDefaultSql, -1, &stmt, nullptr) != SQLITE_OK) std::abort();
  }
  const Status st = sql::BindParams(stmt, params);
  Check(st.ok() || st.code() == Code::kInvalidArgument || st.code() == Code::kSqliteError,
        "BindParams failed with an unexpected code");
  if (st.ok() && sqlite3_stmt_readonly(stmt)) {
    for (int row = 0; row < 8 && sqlite3_step(stmt) == SQLITE_ROW; ++row) {
      Json out = Json::array();
      size_t bytes = 0;
      std::string text = "[";
      size_t text_bytes = 0;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        out.push_back(sql::ColumnJson(stmt, i, &bytes));
        if (i > 0) text.push_back(',');
        sql::AppendColumnJson(stmt, i, &text_bytes, &text);
      }
      text.push_back(']');
      (void)out.dump();  // throws (and so aborts) on invalid UTF-8
      // The query hot path writes values as text: the same bytes as the tree.
      Check(text == out.dump(-1, ' ', false, Json::error_handler_t::replace), "AppendColumnJson differs from dump");
      Check(text_bytes == bytes, "AppendColumnJson estimates another size");
    }
  }
  sqlite3_finalize(stmt);
  return 0;
}
