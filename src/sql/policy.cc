#include "sql/policy.h"

#include <sqlite3.h>

#include <cctype>
#include <cstring>

namespace kissvdb::sql {

namespace {

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsNoCase(s.substr(0, prefix.size()), prefix);
}

// How a pragma may be used.
enum class PragmaUse {
  kIntrospect,  // read-only, may take a table/index/schema name argument
  kReadOnly,    // only the bare form "PRAGMA name" (reads the setting)
  kSettable,    // may also be assigned (values stored in the database header)
};

struct PragmaRule {
  const char* name;
  PragmaUse use;
};

constexpr PragmaRule kPragmas[] = {
    {"table_info", PragmaUse::kIntrospect},
    {"table_xinfo", PragmaUse::kIntrospect},
    {"table_list", PragmaUse::kIntrospect},
    {"index_info", PragmaUse::kIntrospect},
    {"index_xinfo", PragmaUse::kIntrospect},
    {"index_list", PragmaUse::kIntrospect},
    {"foreign_key_list", PragmaUse::kIntrospect},
    {"foreign_key_check", PragmaUse::kIntrospect},
    {"integrity_check", PragmaUse::kIntrospect},
    {"quick_check", PragmaUse::kIntrospect},
    {"collation_list", PragmaUse::kReadOnly},
    {"function_list", PragmaUse::kReadOnly},
    {"module_list", PragmaUse::kReadOnly},
    {"pragma_list", PragmaUse::kReadOnly},
    {"compile_options", PragmaUse::kReadOnly},
    {"data_version", PragmaUse::kReadOnly},
    {"freelist_count", PragmaUse::kReadOnly},
    {"page_count", PragmaUse::kReadOnly},
    {"page_size", PragmaUse::kReadOnly},
    {"journal_mode", PragmaUse::kReadOnly},
    {"synchronous", PragmaUse::kReadOnly},
    {"encoding", PragmaUse::kReadOnly},
    {"foreign_keys", PragmaUse::kReadOnly},
    {"auto_vacuum", PragmaUse::kReadOnly},
    {"schema_version", PragmaUse::kReadOnly},
    {"optimize", PragmaUse::kReadOnly},
    {"user_version", PragmaUse::kSettable},
    {"application_id", PragmaUse::kSettable},
};

AuthVerdict Deny(std::string reason) { return AuthVerdict{false, std::move(reason)}; }

AuthVerdict AuthorizePragma(const char* name, const char* arg) {
  std::string_view n = name ? name : "";
  for (const PragmaRule& rule : kPragmas) {
    if (!EqualsNoCase(n, rule.name)) continue;
    if (rule.use != PragmaUse::kReadOnly || arg == nullptr) return AuthVerdict{};
    return Deny("PRAGMA " + std::string(n) + " may only be read here; changing it is not allowed");
  }
  return Deny("PRAGMA " + std::string(n) +
              " is not allowed (only introspection pragmas such as table_info, index_list, "
              "integrity_check and user_version are)");
}

// Skips one run of whitespace, semicolons or a comment at s[i]; returns the
// new index, or i when s[i] starts something else.
size_t SkipBlank(std::string_view s, size_t i) {
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isspace(c) || c == ';') {
      ++i;
    } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      size_t nl = s.find('\n', i);
      i = nl == std::string_view::npos ? s.size() : nl + 1;
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      size_t end = s.find("*/", i + 2);
      i = end == std::string_view::npos ? s.size() : end + 2;  // unterminated = to the end, as SQLite
    } else {
      break;
    }
  }
  return i;
}

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

// Skips a quoted token starting at s[i] ('..', "..", `..` or [..]).
size_t SkipQuoted(std::string_view s, size_t i) {
  char open = s[i];
  char close = open == '[' ? ']' : open;
  ++i;
  while (i < s.size()) {
    if (s[i] == close) {
      if (close != ']' && i + 1 < s.size() && s[i + 1] == close) {
        i += 2;  // doubled quote is an escaped quote
        continue;
      }
      return i + 1;
    }
    ++i;
  }
  return i;
}

// The table (or view) an action reads, writes or re-shapes, if any.
const char* TouchedTable(int action, const char* a1, const char* a2) {
  switch (action) {
    case SQLITE_READ:
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE:
    case SQLITE_ANALYZE:
      return a1;
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_ALTER_TABLE:
      return a2;
    default:
      return nullptr;
  }
}

}  // namespace

AuthVerdict Authorize(int action, const char* a1, const char* a2, AuthMode mode, std::string_view reserved_prefix) {
  if (mode == AuthMode::kClient && !reserved_prefix.empty()) {
    const char* table = TouchedTable(action, a1, a2);
    if (table != nullptr && StartsWithNoCase(table, reserved_prefix)) {
      return Deny("tables named " + std::string(reserved_prefix) + "* are reserved for the server");
    }
  }
  switch (action) {
    case SQLITE_ATTACH:
      if (mode == AuthMode::kVacuum && a1 != nullptr && a1[0] == '\0') return AuthVerdict{};
      return Deny("ATTACH and DETACH are not allowed (they open files on the server)");
    case SQLITE_DETACH:
      if (mode == AuthMode::kVacuum) return AuthVerdict{};
      return Deny("ATTACH and DETACH are not allowed (they open files on the server)");
    case SQLITE_FUNCTION:
      if (a2 && EqualsNoCase(a2, "load_extension")) return Deny("load_extension() is not allowed");
      return AuthVerdict{};
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
      if (mode != AuthMode::kClient) return AuthVerdict{};
      return Deny("BEGIN, COMMIT, ROLLBACK, SAVEPOINT and RELEASE are not allowed; send the statements "
                  "together to /v1/sql/transaction, which runs them atomically");
    case SQLITE_PRAGMA:
      return AuthorizePragma(a1, a2);
    default:
      return AuthVerdict{};
  }
}

std::string ChangedTable(int action, const char* a1, const char* a2, const char* db) {
  const char* table = nullptr;
  switch (action) {
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
    case SQLITE_CREATE_TABLE:
    case SQLITE_DROP_TABLE:
    case SQLITE_CREATE_VIEW:
    case SQLITE_DROP_VIEW:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE:
      table = a1;
      break;
    case SQLITE_CREATE_INDEX:
    case SQLITE_DROP_INDEX:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_DROP_TRIGGER:
      table = a2;
      break;
    case SQLITE_ALTER_TABLE:  // a1 is the database name, a2 the table
      db = a1;
      table = a2;
      break;
    default:
      return "";
  }
  if (table == nullptr || (db != nullptr && std::strcmp(db, "main") != 0)) return "";
  if (StartsWithNoCase(table, "sqlite_")) return "";
  return table;
}

bool IsSchemaChange(int action) {
  switch (action) {
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_VTABLE:
    case SQLITE_ALTER_TABLE:
      return true;
    default:
      return false;
  }
}

bool IsBlankSql(std::string_view tail) { return SkipBlank(tail, 0) == tail.size(); }

bool IsVacuum(std::string_view sql) {
  size_t i = SkipBlank(sql, 0);
  size_t start = i;
  while (i < sql.size() && IsWordChar(sql[i])) ++i;
  return EqualsNoCase(sql.substr(start, i - start), "vacuum");
}

bool IsVacuumInto(std::string_view sql) {
  if (!IsVacuum(sql)) return false;
  size_t i = SkipBlank(sql, 0) + 6;  // past "VACUUM"
  while (i < sql.size()) {
    size_t next = SkipBlank(sql, i);
    if (next != i) {
      i = next;
      continue;
    }
    char c = sql[i];
    if (c == '\'' || c == '"' || c == '`' || c == '[') {
      i = SkipQuoted(sql, i);
    } else if (IsWordChar(c)) {
      size_t start = i;
      while (i < sql.size() && IsWordChar(sql[i])) ++i;
      if (EqualsNoCase(sql.substr(start, i - start), "into")) return true;
    } else {
      ++i;
    }
  }
  return false;
}

}  // namespace kissvdb::sql
