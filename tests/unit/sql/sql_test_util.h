// Shared fixture for the SQL tests: a fresh directory under /tmp per test,
// removed afterwards, and helpers that open a database and assert success.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "sql/sql_database.h"

namespace kissvdb::sql {

// Whether `s` contains `sub`, with both in the failure message.
inline ::testing::AssertionResult Contains(const std::string& s, const std::string& sub) {
  if (s.find(sub) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << s << "\" does not contain \"" << sub << "\"";
}

class SqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kissvdb_sql_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  SqlOptions Options() const {
    SqlOptions o;
    o.path = (dir_ / "sql.db").string();
    return o;
  }

  // Opens (or reopens) db_ with `o`.
  SqlDatabase& Open(SqlOptions o) {
    db_.reset();
    auto r = SqlDatabase::Open(std::move(o));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    db_ = std::move(r.value());
    return *db_;
  }
  SqlDatabase& Open() { return Open(Options()); }

  ExecResult Exec(const std::string& sql, const Json& params = nullptr) {
    auto r = db_->Exec(sql, params);
    EXPECT_TRUE(r.ok()) << sql << " -> " << r.status().ToString();
    return r.ok() ? r.value() : ExecResult{};
  }
  Json Rows(const std::string& sql, const Json& params = nullptr) {
    auto r = db_->Query(sql, params);
    EXPECT_TRUE(r.ok()) << sql << " -> " << r.status().ToString();
    return r.ok() ? r->rows : Json();
  }
  // The single value of a one-row, one-column query.
  Json Scalar(const std::string& sql, const Json& params = nullptr) {
    Json rows = Rows(sql, params);
    if (rows.size() != 1 || rows[0].size() != 1) {
      ADD_FAILURE() << sql << " returned " << rows.dump();
      return Json();
    }
    return rows[0].begin().value();
  }

  std::filesystem::path dir_;
  std::unique_ptr<SqlDatabase> db_;
};

}  // namespace kissvdb::sql
