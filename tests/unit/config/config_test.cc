// LoadConfig: precedence (flag > env > file > default), the original
// system's variable names, errors that name the bad key, and --help.

#include "kissvdb/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "config/settings.h"

namespace kissvdb {
namespace {

namespace fs = std::filesystem;

Result<Config> Load(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                    std::string* help = nullptr) {
  std::vector<const char*> argv{"kissvdb"};
  for (const auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  std::vector<const char*> envp;
  for (const auto& e : env) envp.push_back(e.c_str());
  envp.push_back(nullptr);
  return LoadConfig(static_cast<int>(argv.size() - 1), argv.data(), envp.data(), help);
}

// Loads and asserts success.
Config Ok(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  auto r = Load(args, env);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : Config{};
}

// Loads, asserts failure, returns the message.
std::string Err(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  auto r = Load(args, env);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  return r.status().message();
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kissvdb_config_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& text, const std::string& name = "kissvdb.json") {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  fs::path dir_;
};

TEST(ConfigTest, DefaultsMatchTheOriginal) {
  Config c = Ok({});
  EXPECT_EQ(c.bind, "127.0.0.1");
  EXPECT_EQ(c.port, 9917);
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.durability, Durability::kAlways);
  EXPECT_TRUE(c.sqlite_enabled);
  EXPECT_EQ(c.sqlite_path, "./data/sql.db");
  EXPECT_EQ(c.api_key, "");
  EXPECT_FALSE(c.api_key_explicit);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.limits.max_body_bytes, 1u << 20);
  EXPECT_EQ(c.limits.max_json_bytes, 64u << 10);
  EXPECT_EQ(c.limits.max_key_len, 512u);
  EXPECT_TRUE(c.cors_allowed_origins.empty());
}

TEST_F(ConfigFileTest, FlagBeatsEnvBeatsFileBeatsDefault) {
  std::string file = Write(R"({"port": 1111, "data_dir": "/from/file"})");
  std::vector<std::string> env{"KISSVDB_PORT=2222"};

  EXPECT_EQ(Ok({"--config", file, "--port", "3333"}, env).port, 3333);
  EXPECT_EQ(Ok({"--config", file}, env).port, 2222);
  EXPECT_EQ(Ok({"--config", file}).port, 1111);
  EXPECT_EQ(Ok({}).port, 9917);

  // Other settings from a lower source survive a higher one that is silent.
  Config c = Ok({"--config", file, "--port=4444"}, env);
  EXPECT_EQ(c.port, 4444);
  EXPECT_EQ(c.data_dir, "/from/file");
  EXPECT_EQ(c.sqlite_path, "/from/file/sql.db");
}

TEST_F(ConfigFileTest, NestedLimitsAndEveryType) {
  std::string file = Write(R"({
    "bind": "::1", "io_threads": 3, "durability": "interval", "repair": true,
    "sqlite_enabled": false, "cors_allowed_origins": ["https://a.example", "https://b.example"],
    "api_key": "from-file", "log_level": "DEBUG",
    "limits": {"max_key_len": 100, "max_body_bytes": 5000000}
  })");
  Config c = Ok({"--config=" + file});
  EXPECT_EQ(c.bind, "::1");
  EXPECT_EQ(c.io_threads, 3u);
  EXPECT_EQ(c.durability, Durability::kInterval);
  EXPECT_TRUE(c.repair);
  EXPECT_FALSE(c.sqlite_enabled);
  EXPECT_EQ(c.cors_allowed_origins,
            (std::vector<std::string>{"https://a.example", "https://b.example"}));
  EXPECT_EQ(c.api_key, "from-file");
  EXPECT_TRUE(c.api_key_explicit);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.limits.max_key_len, 100u);
  EXPECT_EQ(c.limits.max_body_bytes, 5000000u);
  EXPECT_EQ(c.limits.max_k, 256u);  // untouched
}

TEST_F(ConfigFileTest, ConfigPathFromEnvAndFlagWins) {
  std::string a = Write(R"({"port": 1})", "a.json");
  std::string b = Write(R"({"port": 2})", "b.json");
  EXPECT_EQ(Ok({}, {"KISSVDB_CONFIG=" + a}).port, 1);
  EXPECT_EQ(Ok({"--config", b}, {"KISSVDB_CONFIG=" + a}).port, 2);
}

TEST_F(ConfigFileTest, ExampleFileLoadsToTheDefaults) {
  std::string path = std::string(KISSVDB_SOURCE_DIR) + "/config/kissvdb.example.json";
  ASSERT_TRUE(fs::exists(path)) << path;
  Config c = Ok({"--config", path});
  Config d = Ok({});
  EXPECT_EQ(c.port, d.port);
  EXPECT_EQ(c.bind, d.bind);
  EXPECT_EQ(c.data_dir, d.data_dir);
  EXPECT_EQ(c.api_key_explicit, false);
  EXPECT_EQ(c.limits.max_body_bytes, d.limits.max_body_bytes);
  EXPECT_EQ(c.limits.max_list_limit, d.limits.max_list_limit);
  // Every setting is in the example, so none is forgotten there.
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& s : config_internal::Settings()) {
    std::string key = s.key.substr(s.key.rfind('.') == std::string::npos ? 0 : s.key.rfind('.') + 1);
    EXPECT_NE(text.find("\"" + key + "\""), std::string::npos) << s.key;
  }
}

TEST(ConfigTest, KissvdbNamesForEveryField) {
  Config c = Ok({}, {"KISSVDB_DATA_DIR=/d", "KISSVDB_BIND=0.0.0.0", "KISSVDB_PORT=1",
                     "KISSVDB_API_KEY=k", "KISSVDB_DURABILITY=none", "KISSVDB_SYNC_INTERVAL_MS=7",
                     "KISSVDB_MAX_BODY_BYTES=99", "KISSVDB_MAX_HEADER_BYTES=98",
                     "KISSVDB_MAX_LIST_LIMIT=5", "KISSVDB_SQLITE_ENABLED=off",
                     "KISSVDB_REPAIR=1", "KISSVDB_LMDB_MAP_SIZE=1048576",
                     "KISSVDB_SSE_BUFFER_EVENTS=3", "KISSVDB_PORT_FILE=/tmp/p"});
  EXPECT_EQ(c.data_dir, "/d");
  EXPECT_EQ(c.bind, "0.0.0.0");
  EXPECT_EQ(c.port, 1);
  EXPECT_EQ(c.api_key, "k");
  EXPECT_TRUE(c.api_key_explicit);
  EXPECT_EQ(c.durability, Durability::kNone);
  EXPECT_EQ(c.sync_interval_ms, 7u);
  EXPECT_EQ(c.limits.max_body_bytes, 99u);
  EXPECT_EQ(c.limits.max_header_bytes, 98u);
  EXPECT_EQ(c.limits.max_list_limit, 5u);
  EXPECT_FALSE(c.sqlite_enabled);
  EXPECT_TRUE(c.repair);
  EXPECT_EQ(c.lmdb_map_size, 1u << 20);
  EXPECT_EQ(c.sse_buffer_events, 3u);
  EXPECT_EQ(c.port_file, "/tmp/p");
}

struct AliasCase {
  std::string env;
  std::function<bool(const Config&)> check;
};

TEST(ConfigTest, OriginalSystemAliases) {
  std::vector<AliasCase> cases = {
      {"DATA_DIR=/srv/kv", [](const Config& c) { return c.data_dir == "/srv/kv"; }},
      {"PORT_RUST_KISS_VDB=8080", [](const Config& c) { return c.port == 8080; }},
      {"BIND_ADDR=0.0.0.0", [](const Config& c) { return c.bind == "0.0.0.0"; }},
      {"RUSTKISS_API_KEY=r", [](const Config& c) { return c.api_key == "r" && c.api_key_explicit; }},
      {"API_KEY=a", [](const Config& c) { return c.api_key == "a" && c.api_key_explicit; }},
      {"SQLITE_ENABLED=0", [](const Config& c) { return !c.sqlite_enabled; }},
      {"SQLITE_ENABLED=false", [](const Config& c) { return !c.sqlite_enabled; }},
      {"SQLITE_ENABLED=OFF", [](const Config& c) { return !c.sqlite_enabled; }},
      {"SQLITE_ENABLED=no", [](const Config& c) { return !c.sqlite_enabled; }},
      {"SQLITE_ENABLED=whatever", [](const Config& c) { return c.sqlite_enabled; }},
      {"SQLITE_DB_PATH=/x.db", [](const Config& c) { return c.sqlite_path == "/x.db"; }},
      {"SNAPSHOT_INTERVAL_SECS=5", [](const Config& c) { return c.snapshot_interval_secs == 5; }},
      {"WAL_SEGMENT_MAX_BYTES=4096", [](const Config& c) { return c.wal_segment_max_bytes == 4096; }},
      {"WAL_RETENTION_SEGMENTS=8", [](const Config& c) { return c.wal_retention_segments == 8; }},
      {"REQUEST_TIMEOUT_SECS=9", [](const Config& c) { return c.request_timeout_secs == 9; }},
      {"MAX_BODY_BYTES=10", [](const Config& c) { return c.limits.max_body_bytes == 10; }},
      {"MAX_JSON_BYTES=11", [](const Config& c) { return c.limits.max_json_bytes == 11; }},
      {"MAX_KEY_LEN=12", [](const Config& c) { return c.limits.max_key_len == 12; }},
      {"MAX_COLLECTION_LEN=13", [](const Config& c) { return c.limits.max_collection_len == 13; }},
      {"MAX_ID_LEN=14", [](const Config& c) { return c.limits.max_id_len == 14; }},
      {"MAX_VECTOR_DIM=15", [](const Config& c) { return c.limits.max_vector_dim == 15; }},
      {"MAX_K=16", [](const Config& c) { return c.limits.max_k == 16; }},
      {"MAX_STATE_BATCH=17", [](const Config& c) { return c.limits.max_state_batch == 17; }},
      {"MAX_VECTOR_BATCH=18", [](const Config& c) { return c.limits.max_vector_batch == 18; }},
      {"MAX_DOC_FIND=19", [](const Config& c) { return c.limits.max_doc_find == 19; }},
      {"CORS_ALLOWED_ORIGINS=https://a.example, https://b.example",
       [](const Config& c) {
         return c.cors_allowed_origins ==
                std::vector<std::string>{"https://a.example", "https://b.example"};
       }},
      {"CORS_ALLOWED_ORIGINS=*", [](const Config& c) { return c.cors_allowed_origins.empty(); }},
      {"RUST_LOG=debug", [](const Config& c) { return c.log_level == "debug"; }},
      {"RUST_LOG=rust_kiss_vdb=trace,tower=info", [](const Config& c) { return c.log_level == "trace"; }},
      {"RUST_LOG=hyper=info,warn", [](const Config& c) { return c.log_level == "warning"; }},
      {"KISSVDB_LOG_LEVEL=error", [](const Config& c) { return c.log_level == "error"; }},
  };
  for (const auto& tc : cases) {
    auto r = Load({}, {tc.env});
    ASSERT_TRUE(r.ok()) << tc.env << ": " << r.status().ToString();
    EXPECT_TRUE(tc.check(r.value())) << tc.env;
  }
}

TEST(ConfigTest, KissvdbNameBeatsAlias) {
  EXPECT_EQ(Ok({}, {"PORT_RUST_KISS_VDB=1", "KISSVDB_PORT=2"}).port, 2);
  EXPECT_EQ(Ok({}, {"KISSVDB_PORT=2", "PORT_RUST_KISS_VDB=1"}).port, 2);
  EXPECT_EQ(Ok({}, {"API_KEY=a", "RUSTKISS_API_KEY=r"}).api_key, "r");
  EXPECT_EQ(Ok({}, {"API_KEY=a", "RUSTKISS_API_KEY=r", "KISSVDB_API_KEY=k"}).api_key, "k");
  EXPECT_EQ(Ok({}, {"RUST_LOG=trace", "KISSVDB_LOG_LEVEL=error"}).log_level, "error");
  EXPECT_FALSE(Ok({}, {"SQLITE_ENABLED=1", "KISSVDB_SQLITE_ENABLED=false"}).sqlite_enabled);
  // A shadowed alias is not even parsed.
  EXPECT_EQ(Ok({}, {"PORT_RUST_KISS_VDB=junk", "KISSVDB_PORT=2"}).port, 2);
  // Empty variables count as unset.
  EXPECT_EQ(Ok({}, {"KISSVDB_PORT=", "PORT_RUST_KISS_VDB=5"}).port, 5);
  EXPECT_FALSE(Ok({}, {"KISSVDB_API_KEY="}).api_key_explicit);
}

TEST(ConfigTest, FlagsAndTheirAliases) {
  Config c = Ok({"--data", "/a", "--host", "::1", "--api-key", "s3cret", "--log-level", "warn",
                 "--io-threads", "2", "--durability", "interval", "--sync-interval-ms", "50",
                 "--wal-segment-max-bytes", "1024", "--wal-retention-segments", "3",
                 "--snapshot-interval-secs", "60", "--port-file", "/tmp/port", "--repair",
                 "--no-sqlite", "--max-k=7"});
  EXPECT_EQ(c.data_dir, "/a");
  EXPECT_EQ(c.bind, "::1");
  EXPECT_EQ(c.api_key, "s3cret");
  EXPECT_TRUE(c.api_key_explicit);
  EXPECT_EQ(c.log_level, "warning");
  EXPECT_EQ(c.io_threads, 2u);
  EXPECT_EQ(c.durability, Durability::kInterval);
  EXPECT_EQ(c.sync_interval_ms, 50u);
  EXPECT_EQ(c.wal_segment_max_bytes, 1024u);
  EXPECT_EQ(c.wal_retention_segments, 3u);
  EXPECT_EQ(c.snapshot_interval_secs, 60u);
  EXPECT_EQ(c.port_file, "/tmp/port");
  EXPECT_TRUE(c.repair);
  EXPECT_FALSE(c.sqlite_enabled);
  EXPECT_EQ(c.limits.max_k, 7u);

  EXPECT_EQ(Ok({"--data-dir=/b"}).data_dir, "/b");
  EXPECT_EQ(Ok({"--bind", "10.1.2.3"}).bind, "10.1.2.3");
  EXPECT_EQ(Ok({"--unsafe-bind"}).bind, "0.0.0.0");
  EXPECT_EQ(Ok({"--bind", "[::1]"}).bind, "::1");
  EXPECT_EQ(Ok({"--port", "0"}).port, 0);  // tests bind an ephemeral port
  EXPECT_TRUE(Ok({"--sqlite"}, {"SQLITE_ENABLED=0"}).sqlite_enabled);
  EXPECT_EQ(Ok({"--durability", "none"}).durability, Durability::kNone);
  EXPECT_EQ(Ok({"--durability", "always"}).durability, Durability::kAlways);
  // The last of a repeated flag wins.
  EXPECT_EQ(Ok({"--port", "1", "--port", "2"}).port, 2);
  // An explicit sqlite path is kept; otherwise it follows data_dir.
  EXPECT_EQ(Ok({"--data-dir", "/c", "--sqlite-path", "/s.db"}).sqlite_path, "/s.db");
  EXPECT_EQ(Ok({"--data-dir", "/c"}).sqlite_path, "/c/sql.db");
}

TEST(ConfigTest, BadValuesNameTheirSource) {
  EXPECT_NE(Err({"--port", "abc"}).find("--port"), std::string::npos);
  EXPECT_NE(Err({"--port=70000"}).find("--port"), std::string::npos);
  EXPECT_NE(Err({"--port", "-1"}).find("--port"), std::string::npos);
  EXPECT_NE(Err({"--durability", "sometimes"}).find("--durability"), std::string::npos);
  EXPECT_NE(Err({"--bind", "localhost"}).find("--bind"), std::string::npos);
  EXPECT_NE(Err({"--host", "999.1.1.1"}).find("--host"), std::string::npos);
  EXPECT_NE(Err({"--log-level", "loud"}).find("--log-level"), std::string::npos);
  EXPECT_NE(Err({"--api-key="}).find("--api-key"), std::string::npos);
  EXPECT_NE(Err({"--max-k", "0"}).find("--max-k"), std::string::npos);
  EXPECT_NE(Err({"--sync-interval-ms", "0"}).find("--sync-interval-ms"), std::string::npos);
  EXPECT_NE(Err({"--io-threads", "99999"}).find("--io-threads"), std::string::npos);
  EXPECT_NE(Err({}, {"KISSVDB_PORT=x"}).find("KISSVDB_PORT"), std::string::npos);
  EXPECT_NE(Err({}, {"PORT_RUST_KISS_VDB=99999"}).find("PORT_RUST_KISS_VDB"), std::string::npos);
  EXPECT_NE(Err({}, {"MAX_K=0"}).find("MAX_K"), std::string::npos);
  EXPECT_NE(Err({}, {"KISSVDB_MAX_BODY_BYTES=1MB"}).find("KISSVDB_MAX_BODY_BYTES"),
            std::string::npos);
  EXPECT_NE(Err({}, {"BIND_ADDR=nowhere"}).find("BIND_ADDR"), std::string::npos);
  EXPECT_NE(Err({}, {"KISSVDB_SQLITE_ENABLED=maybe"}).find("KISSVDB_SQLITE_ENABLED"),
            std::string::npos);
  EXPECT_NE(Err({}, {"RUST_LOG=loud"}).find("RUST_LOG"), std::string::npos);
  EXPECT_NE(Err({}, {"KISSVDB_DURABILITY=x"}).find("KISSVDB_DURABILITY"), std::string::npos);
  // A bad environment value loses to nothing: the flag does not rescue it.
  EXPECT_NE(Err({"--port", "1"}, {"KISSVDB_PORT=x"}).find("KISSVDB_PORT"), std::string::npos);
}

TEST_F(ConfigFileTest, BadFileValuesNameTheKey) {
  EXPECT_NE(Err({"--config", Write(R"({"limits": {"max_key_len": 0}})")}).find("limits.max_key_len"),
            std::string::npos);
  EXPECT_NE(Err({"--config", Write(R"({"port": "9917"})")}).find("'port'"), std::string::npos);
  EXPECT_NE(Err({"--config", Write(R"({"port": 65536})")}).find("'port'"), std::string::npos);
  EXPECT_NE(Err({"--config", Write(R"({"port": -1})")}).find("'port'"), std::string::npos);
  EXPECT_NE(Err({"--config", Write(R"({"port": 1.5})")}).find("'port'"), std::string::npos);
  EXPECT_NE(Err({"--config", Write(R"({"repair": "yes"})")}).find("'repair'"), std::string::npos);
  EXPECT_NE(Err({"--config", Write(R"({"durability": "later"})")}).find("'durability'"),
            std::string::npos);
  EXPECT_NE(Err({"--config", Write(R"({"bind": "example.com"})")}).find("'bind'"),
            std::string::npos);
  EXPECT_NE(Err({"--config", Write(R"({"limits": 5})")}).find("'limits'"), std::string::npos);
  EXPECT_NE(Err({"--config", Write(R"({"cors_allowed_origins": [1]})")})
                .find("'cors_allowed_origins'"),
            std::string::npos);
}

TEST_F(ConfigFileTest, UnknownFileKeysAreErrors) {
  std::string m = Err({"--config", Write(R"({"prot": 9917})")});
  EXPECT_NE(m.find("unknown key 'prot'"), std::string::npos) << m;
  m = Err({"--config", Write(R"({"limits": {"max_kk": 1}})")});
  EXPECT_NE(m.find("unknown key 'limits.max_kk'"), std::string::npos) << m;
  // Limits live under "limits" only; api_key_explicit is derived, not set.
  EXPECT_NE(Err({"--config", Write(R"({"max_k": 1})")}).find("'max_k'"), std::string::npos);
  EXPECT_NE(Err({"--config", Write(R"({"api_key_explicit": true})")}).find("api_key_explicit"),
            std::string::npos);
}

TEST_F(ConfigFileTest, UnreadableOrInvalidFile) {
  std::string missing = (dir_ / "missing.json").string();
  EXPECT_NE(Err({"--config", missing}).find(missing), std::string::npos);
  std::string bad = Write("{\"port\": ");
  EXPECT_NE(Err({"--config", bad}).find("invalid JSON"), std::string::npos);
  EXPECT_NE(Err({"--config", Write("[1, 2]")}).find("expected a JSON object"), std::string::npos);
}

TEST(ConfigTest, UnknownFlagsAndStrayArguments) {
  EXPECT_NE(Err({"--prot", "1"}).find("unknown flag --prot"), std::string::npos);
  EXPECT_NE(Err({"--prot=1"}).find("unknown flag --prot"), std::string::npos);
  EXPECT_NE(Err({"serve"}).find("'serve'"), std::string::npos);
  EXPECT_NE(Err({"-p", "1"}).find("'-p'"), std::string::npos);
  EXPECT_NE(Err({"--port"}).find("--port: missing value"), std::string::npos);
  EXPECT_NE(Err({"--api-key", "--port", "1"}).find("--api-key: missing value"), std::string::npos);
  EXPECT_NE(Err({"--repair=yes"}).find("--repair: takes no value"), std::string::npos);
  EXPECT_NE(Err({"--unsafe-bind=1.2.3.4"}).find("--unsafe-bind"), std::string::npos);
  EXPECT_NE(Err({"--config"}).find("--config"), std::string::npos);
  EXPECT_EQ(Ok({"--api-key=--odd-but-allowed"}).api_key, "--odd-but-allowed");
}

TEST(ConfigTest, VersionPrintsOneLine) {
  std::string text;
  auto r = Load({"--version", "--port", "junk"}, {}, &text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(text, "kissvdb " KISSVDB_VERSION "\n");
  std::string help;
  ASSERT_TRUE(Load({"--help"}, {}, &help).ok());
  EXPECT_NE(help.find("--version"), std::string::npos);
}

TEST(ConfigTest, HelpListsEveryFlagAndVariable) {
  std::string help;
  auto r = Load({"--port", "1", "--help"}, {"KISSVDB_PORT=junk"}, &help);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->port, 9917);  // --help returns the defaults
  for (const auto& s : config_internal::Settings()) {
    for (const auto& f : s.flags) EXPECT_NE(help.find(f.name), std::string::npos) << f.name;
    for (const auto& e : s.env) EXPECT_NE(help.find(e.name), std::string::npos) << e.name;
    EXPECT_NE(help.find("file: " + s.key), std::string::npos) << s.key;
  }
  for (const char* needle : {"--config", "KISSVDB_CONFIG", "--help", "--data-dir", "--data ",
                             "--unsafe-bind", "--no-sqlite", "default: 9917",
                             "default: 127.0.0.1", "default: ./data"}) {
    EXPECT_NE(help.find(needle), std::string::npos) << needle;
  }
  // -h too, and help wins over an unknown flag.
  help.clear();
  EXPECT_TRUE(Load({"--bogus", "-h"}, {}, &help).ok());
  EXPECT_FALSE(help.empty());
}

TEST(ConfigTest, EveryFieldHasAKissvdbVariable) {
  // The table's first variable is KISSVDB_<UPPER_SNAKE of the field>.
  for (const auto& s : config_internal::Settings()) {
    std::string field = s.key.substr(s.key.rfind('.') == std::string::npos ? 0 : s.key.rfind('.') + 1);
    std::string expected = "KISSVDB_";
    for (char ch : field) expected += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    ASSERT_FALSE(s.env.empty()) << s.key;
    EXPECT_EQ(s.env.front().name, expected) << s.key;
  }
}

TEST(ConfigTest, ValueParsers) {
  using namespace config_internal;
  EXPECT_EQ(ParseUint("18446744073709551615", 0, UINT64_MAX).value(), UINT64_MAX);
  EXPECT_FALSE(ParseUint("18446744073709551616", 0, UINT64_MAX).ok());
  EXPECT_FALSE(ParseUint("", 0, 10).ok());
  EXPECT_FALSE(ParseUint("1e3", 0, 10000).ok());
  EXPECT_EQ(ParseUint(" 42 ", 0, 100).value(), 42u);
  EXPECT_TRUE(ParseBool("YES").value());
  EXPECT_FALSE(ParseBool("Off").value());
  EXPECT_EQ(ParseLogLevel("Critical").value(), "critical");
  EXPECT_EQ(SplitList(" a, ,b,,c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(SplitList("").empty());
}

TEST(ConfigTest, HistoryRetentionTakesLogOffOffsetsOrADuration) {
  using Kind = HistoryRetention::Kind;
  EXPECT_EQ(Ok({}).history_retention.kind, Kind::kLog);
  EXPECT_EQ(Ok({"--history-retention", "off"}).history_retention.kind, Kind::kOff);
  EXPECT_EQ(Ok({"--history-retention", "LOG"}).history_retention.kind, Kind::kLog);
  Config n = Ok({"--history-retention", "100000"});
  EXPECT_EQ(n.history_retention.kind, Kind::kOffsets);
  EXPECT_EQ(n.history_retention.amount, 100000u);
  Config d = Ok({}, {"KISSVDB_HISTORY_RETENTION=7d"});
  EXPECT_EQ(d.history_retention.kind, Kind::kDuration);
  EXPECT_EQ(d.history_retention.amount, 7u * 86'400'000);
  EXPECT_EQ(Ok({"--history-retention", "90s"}).history_retention.amount, 90'000u);
  EXPECT_EQ(Ok({"--history-retention", "15m"}).history_retention.amount, 900'000u);
  EXPECT_EQ(Ok({"--history-retention", "500ms"}).history_retention.amount, 500u);
  EXPECT_EQ(HistoryRetentionName(d.history_retention), "604800000ms");
  for (const char* bad : {"", "0", "-1", "7 weeks", "7w", "h", "1.5h", "99999999999999999999", "30000000000000000d"}) {
    EXPECT_NE(Err({"--history-retention", bad}).find("--history-retention"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace kissvdb
