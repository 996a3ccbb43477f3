#include "config/settings.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace kissvdb {

std::string HistoryRetentionName(const HistoryRetention& r) {
  switch (r.kind) {
    case HistoryRetention::Kind::kLog: return "log";
    case HistoryRetention::Kind::kOff: return "off";
    case HistoryRetention::Kind::kOffsets: return std::to_string(r.amount);
    case HistoryRetention::Kind::kDuration: return std::to_string(r.amount) + "ms";
  }
  return "log";
}

}  // namespace kissvdb

namespace kissvdb::config_internal {

using nlohmann::json;

namespace {

constexpr uint64_t kU16 = std::numeric_limits<uint16_t>::max();
constexpr uint64_t kU32 = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kU64 = std::numeric_limits<uint64_t>::max();

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string LastComponent(const std::string& key) {
  auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::string DefaultFlag(const std::string& key) {
  std::string f = "--" + LastComponent(key);
  std::replace(f.begin(), f.end(), '_', '-');
  return f;
}

std::string DefaultEnv(const std::string& key) {
  std::string e = LastComponent(key);
  std::transform(e.begin(), e.end(), e.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return "KISSVDB_" + e;
}

Status JsonTypeError(const char* expected, const json& j) {
  return Status::InvalidArgument(std::string("expected ") + expected + ", got " + j.dump());
}

// A setting with its default flag (--snake-to-kebab) and variable
// (KISSVDB_UPPER_SNAKE); the builders below fill in the parsers.
Setting Base(std::string key, std::string metavar, std::string help) {
  Setting s;
  s.flags.push_back({DefaultFlag(key), std::nullopt});
  s.env.push_back({DefaultEnv(key), nullptr});
  s.key = std::move(key);
  s.metavar = std::move(metavar);
  s.help = std::move(help);
  return s;
}

// `field` is a generic lambda returning a reference to the member, so one
// accessor serves both the parsers (Config&) and show (const Config&).
template <typename F>
Setting Uint(std::string key, std::string help, F field, uint64_t min, uint64_t max) {
  Setting s = Base(std::move(key), "N", std::move(help));
  using T = std::remove_reference_t<decltype(field(std::declval<Config&>()))>;
  s.parse_text = [=](Config& c, std::string_view v) -> Status {
    auto n = ParseUint(v, min, max);
    if (!n.ok()) return n.status();
    field(c) = static_cast<T>(n.value());
    return Status::OK();
  };
  s.parse_json = [=](Config& c, const json& j) -> Status {
    if (!j.is_number_unsigned()) return JsonTypeError("a non-negative integer", j);
    uint64_t n = j.get<uint64_t>();
    if (n < min || n > max) {
      return Status::InvalidArgument("must be in [" + std::to_string(min) + ", " +
                                     std::to_string(max) + "], got " + std::to_string(n));
    }
    field(c) = static_cast<T>(n);
    return Status::OK();
  };
  s.show = [=](const Config& c) { return std::to_string(field(c)); };
  return s;
}

// A string validated and normalised by `check` (identity when null).
template <typename F>
Setting String(std::string key, std::string metavar, std::string help, F field,
               std::function<Result<std::string>(std::string_view)> check = nullptr) {
  Setting s = Base(std::move(key), std::move(metavar), std::move(help));
  auto set = [=](Config& c, std::string_view v) -> Status {
    if (!check) {
      field(c) = std::string(v);
      return Status::OK();
    }
    auto r = check(v);
    if (!r.ok()) return r.status();
    field(c) = std::move(r).value();
    return Status::OK();
  };
  s.parse_text = set;
  s.parse_json = [=](Config& c, const json& j) -> Status {
    if (!j.is_string()) return JsonTypeError("a string", j);
    return set(c, j.get<std::string>());
  };
  s.show = [=](const Config& c) { return std::string(field(c)); };
  return s;
}

template <typename F>
Setting Bool(std::string key, std::string help, F field) {
  Setting s = Base(std::move(key), "BOOL", std::move(help));
  s.flags.clear();  // switches only; the table adds them
  s.parse_text = [=](Config& c, std::string_view v) -> Status {
    auto b = ParseBool(v);
    if (!b.ok()) return b.status();
    field(c) = b.value();
    return Status::OK();
  };
  s.parse_json = [=](Config& c, const json& j) -> Status {
    if (!j.is_boolean()) return JsonTypeError("true or false", j);
    field(c) = j.get<bool>();
    return Status::OK();
  };
  s.show = [=](const Config& c) { return std::string(field(c) ? "true" : "false"); };
  return s;
}

Result<Durability> ParseDurability(std::string_view v) {
  std::string s = Lower(Trim(v));
  if (s == "always") return Durability::kAlways;
  if (s == "interval") return Durability::kInterval;
  if (s == "none") return Durability::kNone;
  return Status::InvalidArgument("expected always, interval or none, got '" + std::string(v) + "'");
}

std::string DurabilityName(Durability d) {
  switch (d) {
    case Durability::kAlways: return "always";
    case Durability::kInterval: return "interval";
    case Durability::kNone: return "none";
  }
  return "always";
}

// "log", "off", a number of offsets ("100000") or a duration with a unit
// ("90s", "15m", "24h", "7d", "500ms").
Result<HistoryRetention> ParseHistoryRetention(std::string_view v) {
  std::string s = Lower(Trim(v));
  HistoryRetention r;
  if (s == "log") return r;
  if (s == "off") {
    r.kind = HistoryRetention::Kind::kOff;
    return r;
  }
  size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  const std::string unit = s.substr(digits);
  static const std::pair<const char*, uint64_t> kUnits[] = {
      {"", 0}, {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  for (const auto& [name, ms] : kUnits) {
    if (digits == 0 || unit != name) continue;
    auto n = ParseUint(std::string_view(s).substr(0, digits), 1, ms == 0 ? kU64 : kU64 / ms);
    if (!n.ok()) return n.status();
    r.kind = ms == 0 ? HistoryRetention::Kind::kOffsets : HistoryRetention::Kind::kDuration;
    r.amount = ms == 0 ? *n : *n * ms;
    return r;
  }
  return Status::InvalidArgument("expected log, off, a number of offsets or a duration (30s, 15m, 24h, 7d), got '" +
                                 std::string(v) + "'");
}

// RUST_LOG carries env_logger directives ("info", "warn,hyper=info",
// "rust_kiss_vdb=debug"): take the first bare level, else the level of the
// first `target=level` directive.
Status ParseRustLog(Config& c, std::string_view v) {
  std::optional<std::string> targeted;
  for (const std::string& d : SplitList(v)) {
    auto eq = d.find('=');
    if (eq == std::string::npos) {
      auto r = ParseLogLevel(d);
      if (r.ok()) {
        c.log_level = r.value();
        return Status::OK();
      }
    } else if (!targeted) {
      auto r = ParseLogLevel(std::string_view(d).substr(eq + 1));
      if (r.ok()) targeted = r.value();
    }
  }
  if (!targeted) return Status::InvalidArgument("no log level found in '" + std::string(v) + "'");
  c.log_level = *targeted;
  return Status::OK();
}

// The original's SQLITE_ENABLED: anything but 0/false/off/no turns SQL on.
Status ParseSqliteEnabledAlias(Config& c, std::string_view v) {
  std::string s = Lower(Trim(v));
  c.sqlite_enabled = !(s == "0" || s == "false" || s == "off" || s == "no");
  return Status::OK();
}

void Aliases(Setting& s, std::initializer_list<const char*> names) {
  for (const char* n : names) s.env.push_back({n, nullptr});
}

#define KISSVDB_FIELD(member) [](auto& c) -> auto& { return c.member; }

std::vector<Setting> Build() {
  std::vector<Setting> v;
  auto add = [&v](Setting s) -> Setting& {
    v.push_back(std::move(s));
    return v.back();
  };

  // --- Server
  {
    Setting& s = add(String("bind", "IP", "Address to listen on (an IPv4 or IPv6 literal). "
                            "A non-loopback address requires an explicit API key.",
                            KISSVDB_FIELD(bind), ParseIpAddress));
    s.flags = {{"--bind", std::nullopt}, {"--host", std::nullopt}, {"--unsafe-bind", "0.0.0.0"}};
    Aliases(s, {"BIND_ADDR"});
  }
  Aliases(add(Uint("port", "TCP port; 0 picks a free port (see port_file).", KISSVDB_FIELD(port),
                   0, kU16)),
          {"PORT_RUST_KISS_VDB"});
  add(String("port_file", "PATH", "If set, the bound port is written to this file once listening.",
             KISSVDB_FIELD(port_file)));
  add(Uint("io_threads", "HTTP I/O threads; 0 = one per hardware thread.",
           KISSVDB_FIELD(io_threads), 0, 1024));
  Aliases(add(Uint("request_timeout_secs", "Time to receive a whole request, then 408.",
                   KISSVDB_FIELD(request_timeout_secs), 1, kU32)),
          {"REQUEST_TIMEOUT_SECS"});
  add(Uint("idle_timeout_secs", "Idle keep-alive connections are closed after this.",
           KISSVDB_FIELD(idle_timeout_secs), 1, kU32));
  add(Uint("max_connections", "Open HTTP connections at most; more are closed at once.",
           KISSVDB_FIELD(max_connections), 1, kU32));
  {
    Setting& s = add(Base("cors_allowed_origins", "LIST",
                          "Allowed CORS origins (comma list in flags/env, array in the file); "
                          "empty or \"*\" = any origin."));
    s.parse_text = [](Config& c, std::string_view v) -> Status {
      c.cors_allowed_origins = SplitList(v);
      if (c.cors_allowed_origins == std::vector<std::string>{"*"}) c.cors_allowed_origins.clear();
      return Status::OK();
    };
    s.parse_json = [](Config& c, const json& j) -> Status {
      if (j.is_string()) {
        c.cors_allowed_origins = SplitList(j.get<std::string>());
      } else if (j.is_array()) {
        c.cors_allowed_origins.clear();
        for (const json& e : j) {
          if (!e.is_string()) return JsonTypeError("an array of strings", j);
          auto origin = std::string(Trim(e.get<std::string>()));
          if (!origin.empty()) c.cors_allowed_origins.push_back(origin);
        }
      } else {
        return JsonTypeError("an array of strings", j);
      }
      if (c.cors_allowed_origins == std::vector<std::string>{"*"}) c.cors_allowed_origins.clear();
      return Status::OK();
    };
    s.show = [](const Config& c) {
      std::string out;
      for (const auto& o : c.cors_allowed_origins) out += (out.empty() ? "" : ",") + o;
      return out;
    };
    Aliases(s, {"CORS_ALLOWED_ORIGINS"});
  }

  // --- Auth. An empty key in the file means "not set" (generate one), so the
  // example file can list it; an empty --api-key is a mistake.
  {
    Setting& s = add(String("api_key", "KEY",
                            "Bearer token. If unset, one is generated on first start and kept in "
                            "<data_dir>/api_key (mode 0600).",
                            KISSVDB_FIELD(api_key)));
    s.parse_text = [](Config& c, std::string_view v) -> Status {
      if (v.empty()) return Status::InvalidArgument("must not be empty");
      c.api_key = std::string(v);
      return Status::OK();
    };
    Aliases(s, {"RUSTKISS_API_KEY", "API_KEY"});
  }

  // --- Storage
  {
    Setting& s = add(String("data_dir", "DIR", "Directory for the log, snapshots and stores.",
                            KISSVDB_FIELD(data_dir), [](std::string_view v) -> Result<std::string> {
                              if (v.empty()) return Status::InvalidArgument("must not be empty");
                              return std::string(v);
                            }));
    s.flags.push_back({"--data", std::nullopt});
    Aliases(s, {"DATA_DIR"});
  }
  {
    Setting& s = add(Base("durability", "MODE",
                          "When a write is acknowledged: always (after fdatasync, group commit), "
                          "interval (fdatasync every sync_interval_ms) or none (never fsync)."));
    s.parse_text = [](Config& c, std::string_view v) -> Status {
      auto d = ParseDurability(v);
      if (!d.ok()) return d.status();
      c.durability = d.value();
      return Status::OK();
    };
    s.parse_json = [p = s.parse_text](Config& c, const json& j) -> Status {
      if (!j.is_string()) return JsonTypeError("a string", j);
      return p(c, j.get<std::string>());
    };
    s.show = [](const Config& c) { return DurabilityName(c.durability); };
  }
  add(Uint("sync_interval_ms", "fdatasync period for durability=interval.",
           KISSVDB_FIELD(sync_interval_ms), 1, kU32));
  Aliases(add(Uint("wal_segment_max_bytes", "A log segment is rolled over past this size.",
                   KISSVDB_FIELD(wal_segment_max_bytes), 1, kU64)),
          {"WAL_SEGMENT_MAX_BYTES"});
  Aliases(add(Uint("wal_retention_segments",
                   "Sealed segments kept after a snapshot covers them; 0 = keep every segment.",
                   KISSVDB_FIELD(wal_retention_segments), 0, kU32)),
          {"WAL_RETENTION_SEGMENTS"});
  {
    Setting& s = add(Base("history_retention", "WHAT",
                          "Versions kept for reads at an offset: log (every version the log still "
                          "holds), off (none), a number of offsets, or a duration (30s, 15m, 24h, 7d)."));
    s.parse_text = [](Config& c, std::string_view v) -> Status {
      auto r = ParseHistoryRetention(v);
      if (!r.ok()) return r.status();
      c.history_retention = r.value();
      return Status::OK();
    };
    s.parse_json = [p = s.parse_text](Config& c, const json& j) -> Status {
      if (j.is_number_unsigned()) return p(c, std::to_string(j.get<uint64_t>()));
      if (!j.is_string()) return JsonTypeError("a string or a number of offsets", j);
      return p(c, j.get<std::string>());
    };
    s.show = [](const Config& c) { return HistoryRetentionName(c.history_retention); };
  }
  add(Uint("tx_idempotency_window_ms",
           "How long a transaction's idempotency_key is remembered after its commit.",
           KISSVDB_FIELD(tx_idempotency_window_ms), 1, kU64));
  Aliases(add(Uint("snapshot_interval_secs", "Seconds between snapshots.",
                   KISSVDB_FIELD(snapshot_interval_secs), 1, kU32)),
          {"SNAPSHOT_INTERVAL_SECS"});
  add(Uint("lmdb_map_size", "LMDB map size in bytes (address space reserved, not disk used).",
           KISSVDB_FIELD(lmdb_map_size), 1 << 20, kU64));
  add(Uint("ttl_sweep_interval_ms", "How often expired keys are deleted.",
           KISSVDB_FIELD(ttl_sweep_interval_ms), 1, kU32));
  {
    Setting& s = add(Bool("repair",
                          "Start even if the log is corrupt, truncating it at the first damaged "
                          "record (the tail after it is lost).",
                          KISSVDB_FIELD(repair)));
    s.flags = {{"--repair", "true"}};
  }
  add(Uint("min_free_bytes",
           "Writes are refused with 507 while the data directory's file system has less free "
           "space than this; 0 = no check.",
           KISSVDB_FIELD(min_free_bytes), 0, kU64));

  // --- Change stream
  add(Uint("sse_keepalive_secs", "Seconds between SSE keepalive comments.",
           KISSVDB_FIELD(sse_keepalive_secs), 1, kU32));
  add(Uint("sse_buffer_events",
           "Events buffered per stream subscriber; past it the subscriber gets `gap` and is "
           "disconnected.",
           KISSVDB_FIELD(sse_buffer_events), 1, kU32));

  // --- SQL
  {
    Setting& s = add(Bool("sqlite_enabled", "Enable the /v1/sql routes and the API-key table.",
                          KISSVDB_FIELD(sqlite_enabled)));
    s.flags = {{"--sqlite", "true"}, {"--no-sqlite", "false"}};
    s.env.push_back({"SQLITE_ENABLED", ParseSqliteEnabledAlias});
  }
  Aliases(add(String("sqlite_path", "PATH", "SQLite database file; empty = <data_dir>/sql.db.",
                     KISSVDB_FIELD(sqlite_path))),
          {"SQLITE_DB_PATH"});

  {
    Setting& s = add(String("log_level", "LEVEL",
                            "trace, debug, info, warn(ing), error, critical or off.",
                            KISSVDB_FIELD(log_level), ParseLogLevel));
    s.flags.push_back({"--logs", std::nullopt});
    s.env.push_back({"RUST_LOG", ParseRustLog});
  }

  // --- Limits (file keys under "limits"; each must be at least 1)
  // `alias`: the original system read the bare upper-case name too.
  auto limit = [&](const char* key, const char* help, bool alias, auto field) {
    Setting& s = add(Uint(std::string("limits.") + key, help, field, 1,
                          std::is_same_v<std::remove_reference_t<decltype(field(
                                             std::declval<Config&>()))>,
                                         uint64_t>
                              ? kU64
                              : kU32));
    if (alias) {
      std::string name = LastComponent(s.key);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
      s.env.push_back({name, nullptr});
    }
  };
  limit("max_body_bytes", "Largest HTTP request body; 413 past it.", true,
        KISSVDB_FIELD(limits.max_body_bytes));
  limit("max_header_bytes", "Largest total request header size.", false,
        KISSVDB_FIELD(limits.max_header_bytes));
  limit("max_json_bytes", "Largest serialised value/meta/doc/filter; 413 past it.", true,
        KISSVDB_FIELD(limits.max_json_bytes));
  limit("max_key_len", "Longest state key (and prefix).", true, KISSVDB_FIELD(limits.max_key_len));
  limit("max_collection_len", "Longest collection name.", true,
        KISSVDB_FIELD(limits.max_collection_len));
  limit("max_id_len", "Longest document/vector id.", true, KISSVDB_FIELD(limits.max_id_len));
  limit("max_vector_dim", "Largest vector dimension.", true, KISSVDB_FIELD(limits.max_vector_dim));
  limit("max_k", "Largest k of a vector search.", true, KISSVDB_FIELD(limits.max_k));
  limit("max_state_batch", "Most operations in one state batch_put.", true,
        KISSVDB_FIELD(limits.max_state_batch));
  limit("max_vector_batch", "Most items in one vector *_batch call.", true,
        KISSVDB_FIELD(limits.max_vector_batch));
  limit("max_doc_find", "Most documents one doc find returns.", true,
        KISSVDB_FIELD(limits.max_doc_find));
  limit("max_list_limit", "Largest `limit` of a state list.", false,
        KISSVDB_FIELD(limits.max_list_limit));
  limit("max_text_bytes", "Most text bytes one item or document may put in its text index; 400 past it.",
        false, KISSVDB_FIELD(limits.max_text_bytes));
  limit("max_text_query_bytes", "Longest text query; 400 past it.", false,
        KISSVDB_FIELD(limits.max_text_query_bytes));
  limit("max_text_candidates", "Most candidates per leg of a hybrid (text + vector) search.", false,
        KISSVDB_FIELD(limits.max_text_candidates));
  limit("max_tx_ops", "Most ops in one transaction (each vector item counts); 400 past it.", false,
        KISSVDB_FIELD(limits.max_tx_ops));
  limit("max_tx_bytes", "Largest transaction request body; 413 past it.", false,
        KISSVDB_FIELD(limits.max_tx_bytes));
  return v;
}

#undef KISSVDB_FIELD

}  // namespace

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> kSettings = Build();
  return kSettings;
}

Result<uint64_t> ParseUint(std::string_view text, uint64_t min, uint64_t max) {
  std::string_view t = Trim(text);
  auto bad = [&] {
    return Status::InvalidArgument("expected an integer in [" + std::to_string(min) + ", " +
                                   std::to_string(max) + "], got '" + std::string(text) + "'");
  };
  if (t.empty()) return bad();
  uint64_t n = 0;
  for (char ch : t) {
    if (ch < '0' || ch > '9') return bad();
    uint64_t d = static_cast<uint64_t>(ch - '0');
    if (n > (kU64 - d) / 10) return bad();
    n = n * 10 + d;
  }
  if (n < min || n > max) return bad();
  return n;
}

Result<bool> ParseBool(std::string_view text) {
  std::string s = Lower(Trim(text));
  if (s == "1" || s == "true" || s == "yes" || s == "on") return true;
  if (s == "0" || s == "false" || s == "no" || s == "off") return false;
  return Status::InvalidArgument("expected true/false (or 1/0, yes/no, on/off), got '" +
                                 std::string(text) + "'");
}

Result<std::string> ParseLogLevel(std::string_view text) {
  std::string s = Lower(Trim(text));
  if (s == "warn") s = "warning";  // spdlog's own name
  for (const char* level : {"trace", "debug", "info", "warning", "error", "critical", "off"}) {
    if (s == level) return s;
  }
  return Status::InvalidArgument(
      "expected trace, debug, info, warn, warning, error, critical or off, got '" +
      std::string(text) + "'");
}

Result<std::string> ParseIpAddress(std::string_view text) {
  std::string s(Trim(text));
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  unsigned char buf[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    return s;
  }
  return Status::InvalidArgument("expected an IPv4 or IPv6 address (e.g. 127.0.0.1, ::1), got '" +
                                 std::string(text) + "'");
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = Trim(text.substr(start, comma - start));
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

}  // namespace kissvdb::config_internal
