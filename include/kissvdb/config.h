// Config: every setting of the daemon, with the original system's defaults.
//
// Sources, highest precedence first: command-line flags > environment
// (KISSVDB_* names, plus the original system's names as aliases) > config
// file (--config, JSON) > the defaults below. LoadConfig() names the bad key
// when a value does not parse, so a typo fails fast at start-up.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kissvdb/status.h"

namespace kissvdb {

// How the log acknowledges writes; see docs/wal-format.md for what each loses.
enum class Durability {
  kAlways,    // ack after fdatasync (group commit): nothing acknowledged is lost
  kInterval,  // ack after write(); fdatasync every sync_interval_ms
  kNone,      // never fsync (tests, throwaway dev data)
};

// How far back reads at an offset reach (docs/history.md, "Retention").
// The horizon never goes below the log's first retained offset: a version
// is kept only while the log still holds the events around it.
struct HistoryRetention {
  enum class Kind {
    kLog,       // every version whose event the log still keeps (default)
    kOff,       // no versions are written; every read at an offset is 410
    kOffsets,   // the last `amount` offsets
    kDuration,  // the events of the last `amount` milliseconds
  };
  Kind kind = Kind::kLog;
  uint64_t amount = 0;
};

// "log", "off", "<offsets>" or "<ms>ms", as settings accept it back.
std::string HistoryRetentionName(const HistoryRetention& r);

struct Limits {
  uint64_t max_body_bytes = 1 << 20;    // whole HTTP body; 413 past it
  uint64_t max_header_bytes = 16 << 10; // all request headers; 431/413 past it
  uint64_t max_json_bytes = 64 << 10;   // one value/meta/doc; 413 past it
  uint32_t max_key_len = 512;
  uint32_t max_collection_len = 64;
  uint32_t max_id_len = 128;
  uint32_t max_vector_dim = 4096;
  uint32_t max_k = 256;
  uint32_t max_state_batch = 256;
  uint32_t max_vector_batch = 256;
  uint32_t max_doc_find = 100;
  uint32_t max_list_limit = 1000;
  uint64_t max_text_bytes = 64 << 10;       // indexed text of one item/document; 400 past it
  uint32_t max_text_query_bytes = 16 << 10; // one text query; 400 past it
  uint32_t max_text_candidates = 1000;      // candidates per leg of a hybrid search
  uint32_t max_tx_ops = 1000;               // ops of one transaction (each vector item counts); 400 past it
  uint64_t max_tx_bytes = 1 << 20;          // request body of one transaction; 413 past it
};

struct Config {
  // Server
  std::string bind = "127.0.0.1";
  uint16_t port = 9917;
  std::string port_file;          // if set, the bound port is written here (tests use port 0)
  uint32_t io_threads = 0;        // 0 = hardware concurrency
  uint32_t request_timeout_secs = 30;
  uint32_t idle_timeout_secs = 60;
  uint32_t max_connections = 4096;  // more are accepted and closed at once (counted in metrics)
  std::vector<std::string> cors_allowed_origins;  // empty = any origin

  // Auth. When api_key is empty a key is generated on first start and kept in
  // <data_dir>/api_key (mode 0600). api_key_explicit records that the operator
  // chose one, which is required to bind a non-loopback address.
  std::string api_key;
  bool api_key_explicit = false;

  // Storage
  std::string data_dir = "./data";
  Durability durability = Durability::kAlways;
  uint32_t sync_interval_ms = 100;                 // Durability::kInterval
  uint64_t wal_segment_max_bytes = 64ull << 20;
  uint32_t wal_retention_segments = 0;             // 0 = keep every segment
  // How long a transaction's idempotency key is remembered (from its commit).
  uint64_t tx_idempotency_window_ms = 24ull * 3600 * 1000;
  HistoryRetention history_retention;
  uint32_t snapshot_interval_secs = 30;
  uint64_t lmdb_map_size = 64ull << 30;            // virtual reservation, not disk
  uint32_t ttl_sweep_interval_ms = 1000;
  bool repair = false;                             // truncate a corrupt log at the damage
  // Writes get 507 while the data dir's file system has less free space than
  // this (0 = no check), keeping room for checkpoints and LMDB page writes.
  uint64_t min_free_bytes = 64ull << 20;

  // Change stream
  uint32_t sse_keepalive_secs = 15;
  uint32_t sse_buffer_events = 4096;               // per subscriber, then `gap` + disconnect

  // SQL
  bool sqlite_enabled = true;
  std::string sqlite_path;                         // default <data_dir>/sql.db

  std::string log_level = "info";
  Limits limits;
};

// Parses flags, environment and an optional config file into a Config.
// Returns InvalidArgument naming the offending flag/variable/key. `env` is
// the process environment as NAME=VALUE strings (environ), passed in so tests
// can control it. When --help (or --version) is given, *help_text is filled
// with the help (or "kissvdb VERSION\n") and the returned Config is the
// defaults.
Result<Config> LoadConfig(int argc, const char* const* argv, const char* const* env,
                          std::string* help_text);

}  // namespace kissvdb
