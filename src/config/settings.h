// The settings table: every Config field with its config-file key, its
// command-line flags, its environment names and one line of help, in one
// place. LoadConfig() (config.cc) walks this table once per source, and the
// --help text is printed from it, so a field added here is reachable from
// the file, the environment and the command line at once.
//
// Each parser validates as it parses (ranges, enums, IP syntax), so an error
// is reported against the flag, variable or file key that carried it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kissvdb/config.h"
#include "kissvdb/status.h"

namespace kissvdb::config_internal {

struct FlagSpec {
  std::string name;                    // "--port"
  std::optional<std::string> implied;  // a switch: the value it sets; takes no argument
};

struct EnvSpec {
  std::string name;  // "KISSVDB_PORT", "PORT_RUST_KISS_VDB"
  // Set for an original-system alias whose syntax differs from ours
  // (SQLITE_ENABLED, RUST_LOG); otherwise Setting::parse_text is used.
  std::function<Status(Config&, std::string_view)> parse;
};

struct Setting {
  std::string key;      // config-file key path: "port", "limits.max_key_len"
  std::string metavar;  // "N", "PATH", ... for the help text
  std::string help;
  std::vector<FlagSpec> flags;
  std::vector<EnvSpec> env;  // highest priority first: KISSVDB_* then aliases
  // Parse a flag/environment value into the config. The returned error says
  // what is wrong with the value; the caller prefixes where it came from.
  std::function<Status(Config&, std::string_view)> parse_text;
  std::function<Status(Config&, const nlohmann::json&)> parse_json;
  std::function<std::string(const Config&)> show;  // the current value, for help
};

// The table, in help-text order. Built once; never empty.
const std::vector<Setting>& Settings();

// Value parsers shared by the table and its tests.
Result<uint64_t> ParseUint(std::string_view text, uint64_t min, uint64_t max);
Result<bool> ParseBool(std::string_view text);
Result<std::string> ParseLogLevel(std::string_view text);  // canonical spdlog name
Result<std::string> ParseIpAddress(std::string_view text);  // "[::1]" -> "::1"
std::vector<std::string> SplitList(std::string_view text);  // "a, b,,c" -> {a,b,c}

}  // namespace kissvdb::config_internal
