// The safety rules of the SQL model, as pure functions over what SQLite's
// authorizer reports (sqlite3_set_authorizer) and over SQL text.
//
// What is refused, and why (docs/sql.md "Safety"):
//   - ATTACH / DETACH: would open or create arbitrary files on the server.
//   - load_extension(): native code; also disabled at the connection level.
//   - VACUUM INTO: writes a copy of the database to an arbitrary path. It is
//     refused twice: lexically, and because the ATTACH that VACUUM runs
//     internally is only allowed for plain VACUUM's nameless temp database.
//   - BEGIN / COMMIT / ROLLBACK / SAVEPOINT / RELEASE from clients: a
//     transaction left open would outlive the HTTP call on a shared
//     connection. Clients use /v1/sql/transaction instead.
//   - Any use of a reserved table (name starting with the reserved prefix,
//     "kissvdb_" by default): those belong to the server (e.g. API keys), so
//     SQL clients can neither read nor write nor create them.
//   - PRAGMAs, except an allow-list of harmless ones (schema introspection,
//     checks, and user_version/application_id). Everything that changes
//     durability, file layout or per-connection behaviour (journal_mode=,
//     synchronous=, locking_mode, page_size=, auto_vacuum=, writable_schema,
//     mmap_size, temp_store_directory, cache_size, ...) is refused.
//
// No state, no SQLite handles: connection.cc wires these into the callback.
#pragma once

#include <string>
#include <string_view>

namespace kissvdb::sql {

struct AuthVerdict {
  bool allow = true;
  std::string reason;  // why it was refused (the client sees it), when !allow
};

// Who is running the statement being authorized.
enum class AuthMode {
  kClient,           // a client's statement
  kInternalControl,  // SqlDatabase's own BEGIN IMMEDIATE / COMMIT / ROLLBACK
  kVacuum,           // a client's plain VACUUM, which attaches a nameless temp
                     // database and opens a transaction internally
};

// Decides one authorizer callback. `action` is the SQLITE_* action code and
// a1..a2 its two detail arguments (may be null). Tables whose names start
// with `reserved_prefix` (case-insensitive; empty = none) are refused to
// kClient statements.
AuthVerdict Authorize(int action, const char* a1, const char* a2, AuthMode mode,
                      std::string_view reserved_prefix = {});

// The user table an authorizer callback says will be written or whose schema
// changes (INSERT/UPDATE/DELETE/CREATE/DROP/ALTER on database "main"), or
// empty when the action is a read or concerns SQLite's own sqlite_* tables.
// `db` is the callback's database-name argument.
std::string ChangedTable(int action, const char* a1, const char* a2, const char* db);

// True for actions that change the schema (CREATE/DROP/ALTER of a table,
// index, view, trigger or virtual table in any database).
bool IsSchemaChange(int action);

// True if `tail` (what follows a prepared statement) holds nothing but
// whitespace, semicolons and SQL comments (-- to end of line, /* ... */).
bool IsBlankSql(std::string_view tail);

// True if the first keyword of `sql` is VACUUM.
bool IsVacuum(std::string_view sql);

// True if `sql` is a VACUUM ... INTO statement (the first keyword is VACUUM
// and the keyword INTO appears outside quotes and comments).
bool IsVacuumInto(std::string_view sql);

}  // namespace kissvdb::sql
