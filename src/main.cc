// kissvdb: the daemon (and `kissvdb restore`, see Restore below).
//
// config -> logging -> bind policy and API key -> routes -> HttpServer ->
// wait for SIGINT/SIGTERM -> graceful stop -> exit 0.
//
// Exit codes: 0 after a clean stop, --help or --version; 2 for a configuration error
// (bad flag, non-loopback bind without an explicit key); 1 when start-up
// fails otherwise (port in use, unreadable data directory).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api/api.h"
#include "api/backup_archive.h"
#include "engine/point_in_time_restore.h"
#include "http/auth.h"
#include "http/builtin_routes.h"
#include "http/router.h"
#include "http/server.h"
#include "kissvdb/config.h"
#include "kissvdb/engine.h"
#include "sql/sql_database.h"
#include "stream/broadcaster.h"
#include "stream/engine_source.h"
#include "util/task_pool.h"

extern char** environ;

namespace {

using namespace kissvdb;

void SetupLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("kissvdb");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::warn);
}

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "kissvdb: %s\n", message.c_str());
  return code;
}

// Whole digits only, no sign, no overflow.
bool ParseU64(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// An RFC 3339 date-time ("2026-12-06T14:03:00Z", "2026-12-06T15:03:00.250+01:00";
// 't', 'z' and a space for 'T' as the RFC allows) -> ms since the Unix epoch,
// fractions below a millisecond dropped. False for anything else or a time
// before 1970.
bool ParseRfc3339Ms(std::string_view s, uint64_t* ms) {
  size_t i = 0;
  auto digits = [&](size_t n, int* v) {
    if (i + n > s.size()) return false;
    *v = 0;
    for (size_t k = 0; k < n; ++k, ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      *v = *v * 10 + (s[i] - '0');
    }
    return true;
  };
  auto sep = [&](char c) { return i < s.size() && s[i++] == c; };
  int year, month, day, hour, minute, second;
  if (!digits(4, &year) || !sep('-') || !digits(2, &month) || !sep('-') || !digits(2, &day)) return false;
  if (i >= s.size() || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) return false;
  ++i;
  if (!digits(2, &hour) || !sep(':') || !digits(2, &minute) || !sep(':') || !digits(2, &second)) return false;
  int64_t frac_ms = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t from = i;
    for (int scale = 100; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10) frac_ms += (s[i] - '0') * scale;
    if (i == from) return false;
  }
  int64_t offset_min = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const int sign = s[i++] == '-' ? -1 : 1;
    int oh, om;
    if (!digits(2, &oh) || !sep(':') || !digits(2, &om) || oh > 23 || om > 59) return false;
    offset_min = sign * (oh * 60 + om);
  } else {
    return false;
  }
  if (i != s.size() || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_min * 60;
  if (tm.tm_mday != day && second != 60) return false;  // e.g. February 30 (timegm normalized it)
  if (secs < 0) return false;
  *ms = static_cast<uint64_t>(secs) * 1000 + static_cast<uint64_t>(frac_ms);
  return true;
}

constexpr char kRestoreUsage[] =
    "usage: kissvdb restore <backup dir | archive.tar | -> --data-dir <dir>\n"
    "                       [--to-offset N | --to-time <RFC 3339>] [--log <dir>]";

// `kissvdb restore <backup dir | archive.tar | -> --data-dir <dir>
// [--to-offset N | --to-time T] [--log <dir>]`: rebuilds a data dir from a
// backup directory or a tar of one ("-" = stdin), offline (docs/backup.md).
// With --to-offset, --to-time or --log it is a point-in-time restore
// (engine/point_in_time_restore.h). Exit 0 on success, 2 on usage errors,
// 1 when the backup or the log is bad, the point is not in the log, or the
// target is not empty.
int Restore(int argc, char** argv) {
  std::string from, to, to_offset, to_time;
  RestorePoint point;
  bool pitr = false;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    // --flag value or --flag=value.
    auto value = [&](std::string_view flag, std::string* out) {
      if (arg == flag && i + 1 < argc) {
        *out = argv[++i];
        return true;
      }
      if (arg.size() > flag.size() && arg.compare(0, flag.size(), flag) == 0 && arg[flag.size()] == '=') {
        *out = arg.substr(flag.size() + 1);
        return true;
      }
      return false;
    };
    if (value("--data-dir", &to) || value("--data", &to)) continue;
    if (value("--to-offset", &to_offset) || value("--to-time", &to_time) || value("--log", &point.log_dir)) {
      pitr = true;
      continue;
    }
    if (from.empty() && !arg.empty() && (arg[0] != '-' || arg == "-")) {
      from = arg;
    } else {
      return Fail(2, "restore: unexpected argument " + arg + "\n" + kRestoreUsage);
    }
  }
  if (from.empty() || to.empty()) return Fail(2, kRestoreUsage);
  if (!to_offset.empty() && !to_time.empty()) return Fail(2, "restore: give --to-offset or --to-time, not both");
  if (!to_offset.empty() && (!ParseU64(to_offset, &point.offset) || point.offset == 0)) {
    return Fail(2, "restore: --to-offset wants an offset of at least 1, got '" + to_offset + "'");
  }
  if (!to_time.empty()) {
    uint64_t ms;
    if (!ParseRfc3339Ms(to_time, &ms)) {
      return Fail(2, "restore: --to-time wants an RFC 3339 time such as 2026-12-06T14:03:00Z, got '" + to_time + "'");
    }
    point.time_ms = ms;
  }

  int fd = -1;
  std::error_code ec;
  if (from == "-") {
    fd = STDIN_FILENO;
  } else if (std::filesystem::is_regular_file(from, ec)) {
    fd = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Fail(1, "restore: cannot open " + from + ": " + std::strerror(errno));
  }
  Status st;
  RestoredPoint restored;
  if (pitr) {
    auto r = RestoreBackupToPoint(from, fd, point, to);
    if (r.ok()) restored = *r;
    st = r.status();
  } else if (fd >= 0) {
    st = RestoreBackupArchive(fd, to);
  } else {
    st = RestoreBackup(from, to);
  }
  if (fd >= 0 && fd != STDIN_FILENO) ::close(fd);
  if (!st.ok()) return Fail(1, "restore: " + st.ToString());
  if (!pitr) {
    std::printf("restored %s into %s\n", from.c_str(), to.c_str());
    return 0;
  }
  std::printf("restored %s into %s at offset %llu\n", from.c_str(), to.c_str(),
              static_cast<unsigned long long>(restored.offset));
  if (restored.has_sql) {
    std::printf("sql.db is the backup's, as of its offset %llu: SQL is not event-sourced, so a point-in-time "
                "restore does not move it\n",
                static_cast<unsigned long long>(restored.backup_offset));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "restore") return Restore(argc, argv);
  std::string help;
  Result<Config> loaded = LoadConfig(argc, argv, environ, &help);
  if (!loaded.ok()) return Fail(2, loaded.status().message());
  if (!help.empty()) {
    std::fputs(help.c_str(), stdout);
    return 0;
  }
  const Config config = std::move(loaded).value();
  SetupLogging(config.log_level);
  std::signal(SIGPIPE, SIG_IGN);

  // Signals first, so that a SIGTERM during start-up still means "stop cleanly".
  boost::asio::io_context signal_ioc(1);
  boost::asio::signal_set signals(signal_ioc, SIGINT, SIGTERM);

  if (Status st = http::CheckBindPolicy(config); !st.ok()) return Fail(2, st.message());
  http::KeySource key_source;
  Result<std::string> api_key = http::ResolveApiKey(config, &key_source);
  if (!api_key.ok()) return Fail(1, "API key: " + api_key.status().ToString());
  if (key_source != http::KeySource::kConfig) {
    // The only place a token is ever printed: stdout, once, for the developer.
    std::printf("dev token: %s (%s %s)\n", api_key.value().c_str(),
                key_source == http::KeySource::kGenerated ? "generated, saved in" : "from",
                http::ApiKeyPath(config.data_dir).c_str());
    std::fflush(stdout);
  }
  http::Authenticator auth(api_key.value());

  http::Router router;

  // Storage: the engine (log + stores), then SQL, then the /v1 routes.
  EngineOptions engine_options;
  engine_options.config = config;
  Result<std::unique_ptr<Engine>> opened = Engine::Open(engine_options);
  if (!opened.ok()) return Fail(1, "cannot open data dir " + config.data_dir + ": " + opened.status().ToString());
  std::unique_ptr<Engine> engine = std::move(opened).value();
  // Stored API keys (admin | read_write | read_only) besides the bootstrap key.
  auth.SetKeyLookup([eng = engine.get()](std::string_view token) -> Result<std::optional<http::Principal>> {
    std::optional<ApiKeyPrincipal> found = eng->LookupApiKey(token);
    if (!found) return std::optional<http::Principal>();
    return std::optional<http::Principal>(http::Principal{found->id, found->role});
  });

  std::unique_ptr<sql::SqlDatabase> sql_db;
  if (config.sqlite_enabled) {
    sql::SqlOptions sql_options = sql::SqlOptionsFromConfig(config);
    Engine* eng = engine.get();
    sql_options.on_change = [eng](const Json& info) {  // must not block: AppendEvent is async
      eng->AppendSystemEvent("sql", info);
    };
    auto sql_opened = sql::SqlDatabase::Open(std::move(sql_options));
    if (!sql_opened.ok()) return Fail(1, "SQL: " + sql_opened.status().ToString());
    sql_db = std::move(sql_opened).value();
  }
  // The change stream: every durable batch from the commit thread, history
  // from the log.
  stream::EngineEventSource event_source(*engine);
  auto broadcaster =
      std::make_unique<stream::Broadcaster>(event_source, stream::BroadcasterOptions::FromConfig(config));
  engine->AddCommitListener(broadcaster->Listener());
  broadcaster->Start();
  api::BackupArchiver archiver;
  http::AddBuiltinRoutes(router, [eng = engine.get()] { return eng->WriteHealth(); });
  // Handlers that may block (SQL statements, snapshots) run here, not on the
  // I/O threads: a thread per SQLite connection (the readers and the writer).
  TaskPool blocking("kissvdb-block", sql_db ? sql_db->options().read_connections + 1 : 1);
  api::RegisterRoutes(router, api::ApiContext{engine.get(), &config, sql_db.get(), broadcaster.get(), &archiver,
                                              &blocking});

  http::HttpServer server(http::ServerOptions::FromConfig(config), std::move(router), std::move(auth));
  if (Status st = server.Start(); !st.ok()) return Fail(1, st.message());
  spdlog::info("kissvdb {} listening on {}:{} (data dir {}, {} io threads)", KISSVDB_VERSION,
               config.bind, server.port(), config.data_dir, server.io_threads());

  int signal_number = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) signal_number = sig;
  });
  signal_ioc.run();
  spdlog::info("received signal {}; stopping", signal_number);

  server.Stop();
  blocking.Stop();  // runs what was queued (its answers go nowhere now)
  archiver.Stop();
  // Streams are closed; the broadcaster's threads read the log, so they stop
  // before the engine closes (its listener then drops later batches).
  broadcaster->Stop();

  // In-flight requests have finished; the engine completes queued writes,
  // checkpoints and closes its files.
  sql_db.reset();
  engine->Close();

  spdlog::info("stopped");
  spdlog::shutdown();
  return 0;
}
