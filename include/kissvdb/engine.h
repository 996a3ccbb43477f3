// Engine: the one write path and the read API of every model.
//
// Every mutation becomes one or more Events and goes through a single commit
// pipeline:
//
//   API handler -> Engine::<Model op> -> commit queue
//     -> commit thread: validate against current state (CAS, TTL, dims...)
//        and emit events, each applied at once to an LMDB write transaction
//     -> WAL append + one fdatasync for the whole group (group commit)
//     -> LMDB commit (state + applied offset, same transaction)
//     -> in-memory stores, change-stream subscribers
//     -> completion callbacks (the HTTP responses)
//
// Nothing is acknowledged, readable or streamed before it is durable in the
// log. Reads go straight to the stores. Completion callbacks run on the
// commit thread: they must be quick and must not call back into a blocking
// Engine write.
//
// Thread safety: all public methods may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kissvdb/clock.h"
#include "kissvdb/config.h"
#include "kissvdb/event.h"
#include "kissvdb/status.h"

namespace kissvdb {

template <typename T>
using Callback = std::function<void(Result<T>)>;

// ---- KV model -------------------------------------------------------------

struct StateItem {
  std::string key;
  std::string value_json;      // the stored JSON value, serialized
  uint64_t revision = 0;
  uint64_t expires_at_ms = 0;  // 0 = no TTL
};

struct StatePut {
  std::string key;
  Json value;
  std::optional<uint64_t> ttl_ms;       // absent = no TTL (clears an old one)
  std::optional<uint64_t> if_revision;  // CAS; 0 = only if the key is absent
};

struct StatePutResult {
  std::string key;
  uint64_t revision = 0;
  uint64_t expires_at_ms = 0;
};

// One item of a batch: its own result or its own error.
using StateBatchResult = std::vector<Result<StatePutResult>>;

// ---- Events ---------------------------------------------------------------

struct EventPage {
  std::vector<Event> events;
  uint64_t first_offset = 0;  // oldest offset still in the log
  uint64_t last_offset = 0;   // newest durable offset
};

// What the dashboard and /v1/metrics show about the engine.
struct EngineStats {
  uint64_t last_offset = 0;
  uint64_t first_offset = 0;
  uint64_t wal_segments = 0;
  uint64_t wal_bytes = 0;
  uint64_t checkpoint_offset = 0;
  uint64_t commit_batches = 0;  // fsync groups since start
  uint64_t committed_events = 0;
};

// Receives every durable event, in offset order, on the commit thread.
using CommitListener = std::function<void(const std::vector<Event>& events)>;

struct EngineOptions {
  Config config;
  Clock* clock = Clock::System();
};

class Engine {
 public:
  // Opens the data dir: the log (truncating a torn tail), LMDB, then replays
  // the log tail past the applied offset. Fails with Corruption when the log
  // is damaged mid-way (unless config.repair).
  static Result<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  virtual ~Engine() = default;

  // Stops background work, finishes queued writes, checkpoints, closes files.
  virtual void Close() = 0;

  // ---- KV ----
  virtual void PutState(StatePut put, Callback<StatePutResult> done) = 0;
  virtual void DeleteState(std::string key, Callback<bool> done) = 0;
  // Non-atomic: each item commits or fails on its own. Atomic: all or none,
  // in one log group and one LMDB transaction; on failure the Status of the
  // first failing item (its index in the message) is returned.
  virtual void BatchPutState(std::vector<StatePut> puts, bool atomic, Callback<StateBatchResult> done) = 0;
  virtual Result<StateItem> GetState(const std::string& key) const = 0;
  virtual Result<std::vector<StateItem>> ListState(const std::string& prefix, const std::string& after,
                                                   uint32_t limit) const = 0;

  // ---- User events ----
  // Appends {type, data}. With expected_offset, commits only if the newest
  // offset in the log equals it (optimistic append), else Conflict.
  virtual void AppendEvent(std::string type, Json data, std::optional<uint64_t> expected_offset,
                           Callback<Event> done) = 0;
  // Events with offset > since, at most limit. Gone (`compacted`) if events
  // after `since` were removed by retention.
  virtual Result<EventPage> ReadEvents(uint64_t since, uint32_t limit) const = 0;

  // ---- Operations ----
  virtual void AddCommitListener(CommitListener listener) = 0;
  // Forces a checkpoint now (tests, admin).
  virtual Status Checkpoint() = 0;
  virtual EngineStats Stats() const = 0;
  // A digest of the materialized state (all stores, key order); equal digests
  // mean equal contents. Used by the determinism tests.
  virtual Result<std::string> StateDigest() const = 0;
};

}  // namespace kissvdb
