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
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api/api.h"
#include "api/backup_archive.h"
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

// `kissvdb restore <backup dir | archive.tar | -> --data-dir <dir>`: rebuilds
// a data dir from a backup directory or a tar of one ("-" = stdin), offline (docs/backup.md). Exit 0 on success, 2 on usage errors,
// 1 when the backup is bad or the target is not empty.
int Restore(int argc, char** argv) {
  std::string from, to;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--data-dir" || arg == "--data") && i + 1 < argc) {
      to = argv[++i];
    } else if (arg.rfind("--data-dir=", 0) == 0) {
      to = arg.substr(11);
    } else if (from.empty() && !arg.empty() && (arg[0] != '-' || arg == "-")) {
      from = arg;
    } else {
      return Fail(2, "restore: unexpected argument " + arg);
    }
  }
  if (from.empty() || to.empty()) {
    return Fail(2, "usage: kissvdb restore <backup dir | archive.tar | -> --data-dir <dir>");
  }
  Status st;
  std::error_code ec;
  if (from == "-") {
    st = RestoreBackupArchive(STDIN_FILENO, to);
  } else if (std::filesystem::is_regular_file(from, ec)) {
    int fd = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Fail(1, "restore: cannot open " + from + ": " + std::strerror(errno));
    st = RestoreBackupArchive(fd, to);
    ::close(fd);
  } else {
    st = RestoreBackup(from, to);
  }
  if (!st.ok()) return Fail(1, "restore: " + st.ToString());
  std::printf("restored %s into %s\n", from.c_str(), to.c_str());
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
