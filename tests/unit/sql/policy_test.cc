// The pure pieces: the authorizer policy, the SQL text scanners, base64 and
// UTF-8 repair.

#include "sql/policy.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "sql/values.h"

namespace kissvdb::sql {
namespace {

TEST(PolicyTest, PragmaAllowList) {
  EXPECT_TRUE(Authorize(SQLITE_PRAGMA, "table_info", "t", AuthMode::kClient).allow);
  EXPECT_TRUE(Authorize(SQLITE_PRAGMA, "INDEX_LIST", "t", AuthMode::kClient).allow);
  EXPECT_TRUE(Authorize(SQLITE_PRAGMA, "journal_mode", nullptr, AuthMode::kClient).allow);
  EXPECT_TRUE(Authorize(SQLITE_PRAGMA, "user_version", "3", AuthMode::kClient).allow);
  EXPECT_FALSE(Authorize(SQLITE_PRAGMA, "journal_mode", "delete", AuthMode::kClient).allow);
  EXPECT_FALSE(Authorize(SQLITE_PRAGMA, "synchronous", "0", AuthMode::kClient).allow);
  EXPECT_FALSE(Authorize(SQLITE_PRAGMA, "writable_schema", nullptr, AuthMode::kClient).allow);
  EXPECT_FALSE(Authorize(SQLITE_PRAGMA, "mmap_size", "1", AuthMode::kClient).allow);
  EXPECT_FALSE(Authorize(SQLITE_PRAGMA, "temp_store_directory", "/tmp", AuthMode::kClient).allow);
  AuthVerdict v = Authorize(SQLITE_PRAGMA, "locking_mode", "exclusive", AuthMode::kClient);
  EXPECT_FALSE(v.allow);
  EXPECT_NE(v.reason.find("locking_mode"), std::string::npos);
}

TEST(PolicyTest, RefusesFilesExtensionsAndTransactionControl) {
  EXPECT_FALSE(Authorize(SQLITE_ATTACH, "x.db", nullptr, AuthMode::kClient).allow);
  EXPECT_FALSE(Authorize(SQLITE_DETACH, "x", nullptr, AuthMode::kInternalControl).allow);
  EXPECT_FALSE(Authorize(SQLITE_FUNCTION, nullptr, "LOAD_EXTENSION", AuthMode::kClient).allow);
  EXPECT_TRUE(Authorize(SQLITE_FUNCTION, nullptr, "lower", AuthMode::kClient).allow);
  EXPECT_FALSE(Authorize(SQLITE_TRANSACTION, "BEGIN", nullptr, AuthMode::kClient).allow);
  EXPECT_TRUE(Authorize(SQLITE_TRANSACTION, "BEGIN", nullptr, AuthMode::kInternalControl).allow);
  EXPECT_FALSE(Authorize(SQLITE_SAVEPOINT, "BEGIN", "s", AuthMode::kClient).allow);
  EXPECT_TRUE(Authorize(SQLITE_ATTACH, "", nullptr, AuthMode::kVacuum).allow);
  EXPECT_FALSE(Authorize(SQLITE_ATTACH, "/x.db", nullptr, AuthMode::kVacuum).allow);
  EXPECT_FALSE(Authorize(SQLITE_ATTACH, "", nullptr, AuthMode::kClient).allow);
  EXPECT_TRUE(Authorize(SQLITE_TRANSACTION, "BEGIN", nullptr, AuthMode::kVacuum).allow);
  EXPECT_TRUE(Authorize(SQLITE_INSERT, "t", nullptr, AuthMode::kClient).allow);
  EXPECT_TRUE(Authorize(SQLITE_READ, "t", "a", AuthMode::kClient).allow);
}

TEST(PolicyTest, ReservedTables) {
  EXPECT_FALSE(Authorize(SQLITE_READ, "kissvdb_keys", "hash", AuthMode::kClient, "kissvdb_").allow);
  EXPECT_FALSE(Authorize(SQLITE_INSERT, "KISSVDB_keys", nullptr, AuthMode::kClient, "kissvdb_").allow);
  EXPECT_FALSE(Authorize(SQLITE_CREATE_TABLE, "kissvdb_x", nullptr, AuthMode::kClient, "kissvdb_").allow);
  EXPECT_FALSE(Authorize(SQLITE_CREATE_INDEX, "i", "kissvdb_keys", AuthMode::kClient, "kissvdb_").allow);
  EXPECT_TRUE(Authorize(SQLITE_READ, "keys", "hash", AuthMode::kClient, "kissvdb_").allow);
  EXPECT_TRUE(Authorize(SQLITE_READ, "kissvdb_keys", "hash", AuthMode::kClient, "").allow);
  EXPECT_TRUE(Authorize(SQLITE_READ, "kissvdb_keys", "hash", AuthMode::kVacuum, "kissvdb_").allow);
}

TEST(PolicyTest, ChangedTables) {
  EXPECT_EQ(ChangedTable(SQLITE_INSERT, "t", nullptr, "main"), "t");
  EXPECT_EQ(ChangedTable(SQLITE_UPDATE, "t", "col", "main"), "t");
  EXPECT_EQ(ChangedTable(SQLITE_DELETE, "t", nullptr, "main"), "t");
  EXPECT_EQ(ChangedTable(SQLITE_CREATE_INDEX, "t_i", "t", "main"), "t");
  EXPECT_EQ(ChangedTable(SQLITE_ALTER_TABLE, "main", "t", nullptr), "t");
  EXPECT_EQ(ChangedTable(SQLITE_INSERT, "sqlite_master", nullptr, "main"), "");
  EXPECT_EQ(ChangedTable(SQLITE_INSERT, "t", nullptr, "temp"), "");
  EXPECT_EQ(ChangedTable(SQLITE_READ, "t", "a", "main"), "");
  EXPECT_TRUE(IsSchemaChange(SQLITE_DROP_TABLE));
  EXPECT_FALSE(IsSchemaChange(SQLITE_INSERT));
  EXPECT_FALSE(IsSchemaChange(SQLITE_CREATE_TEMP_TABLE));
}

TEST(PolicyTest, BlankSql) {
  EXPECT_TRUE(IsBlankSql(""));
  EXPECT_TRUE(IsBlankSql(" ;\n\t; -- x\n/* y */"));
  EXPECT_TRUE(IsBlankSql("-- to the end"));
  EXPECT_TRUE(IsBlankSql("/* unterminated"));
  EXPECT_FALSE(IsBlankSql("; SELECT 1"));
  EXPECT_FALSE(IsBlankSql(" - 1"));
  EXPECT_FALSE(IsBlankSql("/ 2"));
}

TEST(PolicyTest, VacuumInto) {
  EXPECT_TRUE(IsVacuumInto("VACUUM INTO '/x'"));
  EXPECT_TRUE(IsVacuumInto("  /*c*/ vacuum main\n--c\n into ?"));
  EXPECT_TRUE(IsVacuumInto("VACUUM \"main\" INTO '/x'"));
  EXPECT_FALSE(IsVacuumInto("VACUUM"));
  EXPECT_FALSE(IsVacuumInto("VACUUM \"into\""));
  EXPECT_FALSE(IsVacuumInto("VACUUM [into]"));
  EXPECT_FALSE(IsVacuumInto("INSERT INTO t VALUES (1)"));
  EXPECT_FALSE(IsVacuumInto("vacuuming INTO"));
  EXPECT_TRUE(IsVacuum(" -- c\n VACUUM"));
  EXPECT_FALSE(IsVacuum("SELECT 'VACUUM'"));
}

TEST(ValuesTest, Base64WithoutPadding) {
  // RFC 4648 test vectors, padding removed.
  EXPECT_EQ(Base64NoPad(""), "");
  EXPECT_EQ(Base64NoPad("f"), "Zg");
  EXPECT_EQ(Base64NoPad("fo"), "Zm8");
  EXPECT_EQ(Base64NoPad("foo"), "Zm9v");
  EXPECT_EQ(Base64NoPad("foob"), "Zm9vYg");
  EXPECT_EQ(Base64NoPad("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64NoPad("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64NoPad(std::string("\xfb\xff", 2)), "+/8");
}

TEST(ValuesTest, RepairsUtf8) {
  EXPECT_EQ(ToValidUtf8("plain"), "plain");
  EXPECT_EQ(ToValidUtf8("\xC3\xA9"), "\xC3\xA9");
  EXPECT_EQ(ToValidUtf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(ToValidUtf8("\xC3"), "\xEF\xBF\xBD");                  // truncated
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
}

}  // namespace
}  // namespace kissvdb::sql
