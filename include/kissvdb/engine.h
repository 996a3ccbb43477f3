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
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kissvdb/clock.h"
#include "kissvdb/config.h"
#include "kissvdb/event.h"
#include "kissvdb/status.h"
#include "kissvdb/tx.h"
#include "text/types.h"    // value types only; SQLite stays inside src/text/
#include "vector/types.h"  // value types only; hnswlib stays inside src/vector/

namespace kissvdb {

template <typename T>
using Callback = std::function<void(Result<T>)>;

// ---- KV model -------------------------------------------------------------

struct StateItem {
  std::string key;
  std::string value_json;      // the stored JSON value, serialized
  uint64_t revision = 0;
  uint64_t expires_at_ms = 0;  // 0 = no TTL
  uint64_t as_of = 0;          // reads: the applied offset the answer reflects
};

// A listing of keys, and the applied offset it reflects.
struct StatePage {
  std::vector<StateItem> items;
  uint64_t as_of = 0;
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

// One version of a key or a document (docs/history.md): a put, or a
// deletion (explicit, a TTL expiry, a collection drop), by the offset of its
// event. For a document, value_json is the document and revision its own.
struct StateVersion {
  uint64_t offset = 0;
  uint64_t ts_ms = 0;
  uint64_t revision = 0;       // 0 for a deletion
  uint64_t expires_at_ms = 0;  // 0 = no TTL
  bool deleted = false;
  std::string reason;          // deletions: "explicit", "ttl" or "drop"
  std::string value_json;      // puts: the value, serialized
};

struct StateHistoryPage {
  std::vector<StateVersion> versions;  // newest first
  uint64_t next_before = 0;            // 0 = no older versions
};

// One item of a batch: its own result or its own error.
using StateBatchResult = std::vector<Result<StatePutResult>>;

// ---- Vector model ---------------------------------------------------------

enum class VectorWriteKind {
  kAdd,     // the id must not exist (409 already_exists)
  kUpsert,  // insert or replace
  kUpdate,  // the id must exist; omitted fields keep their value
};

struct VectorWrite {
  std::string id;
  std::optional<std::vector<float>> vector;  // required for add/upsert
  std::optional<Json> meta;                  // add/upsert: absent = null
};

// One Status per item of a batch, in order.
using VectorBatchResult = std::vector<Status>;

// ---- Document model -------------------------------------------------------

struct DocItem {
  std::string id;
  uint64_t revision = 0;
  std::string doc_json;  // the stored document, serialized (object keys sorted)
  uint64_t as_of = 0;    // reads: the applied offset the answer reflects
};

struct DocPut {
  std::string collection;
  std::string id;
  Json doc;                             // must be a JSON object
  std::optional<uint64_t> if_revision;  // CAS; 0 = only if the document is absent
};

// RFC 7386 JSON Merge Patch of one document (null members remove fields).
struct DocPatch {
  std::string collection;
  std::string id;
  Json patch;                           // must be a JSON object
  std::optional<uint64_t> if_revision;  // CAS; 0 = only if absent (creates it from the patch)
  bool upsert = false;                  // a missing document is created from the patch, else NotFound
};

struct DocSort {
  std::string field;  // top-level or dotted path
  bool descending = false;
};

struct DocQuery {
  std::string collection;
  Json filter;  // null or a filter object (src/util/json_filter.h)
  std::optional<DocSort> sort;
  std::string cursor;  // next_cursor of the previous page; "" = first page
  uint32_t limit = 20;
  // Give up after examining this many documents (plus index entries read):
  // the page then has gave_up set and nothing else (0 = no limit).
  uint64_t give_up_after = 0;
};

struct DocPage {
  std::vector<DocItem> documents;
  std::string next_cursor;  // "" on the last page
  Json plan;                // find: {"used": "index"|"scan", ..., "examined": n}
  bool gave_up = false;     // find stopped at DocQuery::give_up_after
  uint64_t as_of = 0;       // the applied offset the answer reflects
};

struct DocCollectionInfo {
  std::string collection;
  uint64_t count = 0;
};

// ---- Text search (docs/search.md) ---------------------------------------------
// A text index belongs to one vector or document collection. Its definition
// is logged (vector_text_index_set, doc_text_index_set, ...) and the index
// is derived from the log like every store (src/text/).

struct TextIndexInfo {
  text::Target target = text::Target::kVector;
  std::string collection;
  text::TextSpec spec;
  uint64_t items = 0;  // items or documents with indexed text
};

// A search of a vector collection by text (BM25), by vector, or both fused.
struct HybridQuery {
  std::string collection;
  std::span<const float> vector;      // empty: no vector leg; valid during the call
  std::optional<std::string> text;    // nullopt: no text leg
  text::Syntax syntax = text::Syntax::kPlain;
  uint32_t k = 10;
  uint32_t ef = 0;                    // vector leg, as in vector::SearchRequest
  bool exact = false;                 // vector leg
  uint32_t candidates = 0;            // per leg in a hybrid search; 0 = max(4k, 50)
  text::Fusion fusion;
  const JsonFilter* filter = nullptr; // on meta, both legs
  bool include_meta = false;
  text::Highlight highlight;
};

struct HybridHit {
  std::string id;
  double score = 0;                   // fused (hybrid) or BM25 (text only)
  Json meta;                          // null unless include_meta
  std::optional<double> text_score, vector_score;
  std::optional<uint32_t> text_rank, vector_rank;
  std::optional<std::string> snippet; // highlight, when the item matches the text
};

// A text search of a document collection (BM25, filtered by the find language).
struct DocTextQuery {
  std::string collection;
  std::string text;
  text::Syntax syntax = text::Syntax::kPlain;
  Json filter;                        // null or a find filter
  uint32_t limit = 10;
  text::Highlight highlight;
};

struct DocHit {
  DocItem item;
  double score = 0;
  std::optional<std::string> snippet;
};

// ---- API keys --------------------------------------------------------------
// Keys are event-sourced (event_type::kAuthKeyCreated / kAuthKeyRevoked) and
// stored as SHA-256 digests; the plain key exists only in CreatedApiKey.

struct ApiKeyInfo {
  std::string id;
  std::string name;
  std::string role;                      // admin | read_write | read_only
  Json permissions = Json::object();     // stored and listed; not enforced (roles are)
  uint64_t created_at_ms = 0;
  uint64_t revoked_at_ms = 0;            // 0 = active
};

struct NewApiKey {
  std::string name;                      // 1..128 bytes
  std::string role = "read_write";
  Json permissions = Json::object();     // must be an object
};

struct CreatedApiKey {
  ApiKeyInfo info;
  std::string key;  // "kvdb_" + 64 hex digits; shown once, never stored
};

// Who an active key belongs to.
struct ApiKeyPrincipal {
  std::string id;
  std::string role;
};

// ---- Backups --------------------------------------------------------------

struct BackupInfo {
  std::string dir;      // the backup directory
  uint64_t offset = 0;  // every store reflects exactly the log up to here
  Json manifest;        // manifest.json (docs/backup.md)
};

// Runs while the commit pipeline is paused at the backup offset, to add
// stores that live outside the engine (SQL) to the backup directory.
using BackupHook = std::function<Status(const std::string& dir)>;

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

// The history's reach and size (docs/history.md, "Retention").
struct HistoryStats {
  uint64_t horizon = 0;      // first offset a read of keys at an offset may ask for
  uint64_t doc_horizon = 0;  // the same for documents
  uint64_t versions = 0;     // versions kept, keys and documents
  uint64_t bytes = 0;        // their LMDB pages
  uint64_t pruned = 0;       // versions pruned since start
};

// Receives every durable event, in offset order, on the commit thread, as
// clients may see it (ForClients: system events carry no secrets).
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
  virtual Result<StatePage> ListState(const std::string& prefix, const std::string& after,
                                      uint32_t limit) const = 0;

  // ---- History (docs/history.md) ----
  // The key as a read right after the event at offset `at` was applied saw
  // it (a TTL judged at that event's time). InvalidArgument past the last
  // applied offset; Gone below the history's horizon (HistoryHorizon());
  // NotFound when the key was absent then.
  virtual Result<StateItem> GetStateAt(const std::string& key, uint64_t at) const = 0;
  // ListState as a read right after the event at offset `at` saw it; the
  // same errors as GetStateAt but NotFound.
  virtual Result<StatePage> ListStateAt(const std::string& prefix, const std::string& after, uint32_t limit,
                                        uint64_t at) const = 0;
  // Versions with offset < before (0 = all), newest first, at most limit.
  virtual Result<StateHistoryPage> GetStateHistory(const std::string& key, uint64_t before,
                                                   uint32_t limit) const = 0;
  // The oldest offset whose versions are all kept.
  virtual Result<uint64_t> HistoryHorizon() const = 0;
  virtual HistoryStats HistoryUsage() const = 0;

  // ---- Vectors ----
  // With `text`, the collection is created with a text index on its meta.
  virtual void CreateVectorCollection(vector::CollectionSpec spec, std::optional<text::TextSpec> text,
                                      Callback<vector::CollectionSpec> done) = 0;
  void CreateVectorCollection(vector::CollectionSpec spec, Callback<vector::CollectionSpec> done) {
    CreateVectorCollection(std::move(spec), std::nullopt, std::move(done));
  }
  virtual void DropVectorCollection(std::string collection, Callback<bool> done) = 0;
  // Writes items to one collection. NotFound for the whole call when the
  // collection does not exist. Non-atomic: each item succeeds or fails on
  // its own (per-item Status). Atomic: all or nothing, the first failure is
  // the call's Status (naming the item).
  virtual void WriteVectors(std::string collection, VectorWriteKind kind, std::vector<VectorWrite> items,
                            bool atomic, Callback<VectorBatchResult> done) = 0;
  virtual void DeleteVectors(std::string collection, std::vector<std::string> ids, bool atomic,
                             Callback<VectorBatchResult> done) = 0;
  virtual Result<vector::VectorRecord> GetVector(const std::string& collection, const std::string& id) const = 0;
  // The request's k/ef/vector are validated against the collection and the
  // configured limits.
  virtual Result<std::vector<vector::SearchHit>> SearchVectors(const std::string& collection,
                                                               const vector::SearchRequest& request,
                                                               vector::SearchStats* stats = nullptr) const = 0;
  virtual Result<vector::CollectionInfo> VectorCollection(const std::string& collection) const = 0;
  virtual std::vector<vector::CollectionInfo> ListVectorCollections() const = 0;

  // ---- Documents ----
  // Revisions start at 1 and rise by 1 per write; a delete removes the
  // document, so a later put starts again at 1. if_revision mismatches are
  // RevisionMismatch naming the current revision.
  virtual void PutDoc(DocPut put, Callback<DocItem> done) = 0;
  virtual void PatchDoc(DocPatch patch, Callback<DocItem> done) = 0;
  // false (and no event) when the document is absent.
  virtual void DeleteDoc(std::string collection, std::string id, std::optional<uint64_t> if_revision,
                         Callback<bool> done) = 0;
  // The number of documents dropped; 0 (and no event) when the collection
  // is empty or unknown.
  virtual void DropDocCollection(std::string collection, Callback<uint64_t> done) = 0;
  virtual Result<DocItem> GetDoc(const std::string& collection, const std::string& id) const = 0;
  virtual Result<DocPage> FindDocs(const DocQuery& query) const = 0;
  // Every document in id order (keyset pages).
  virtual Result<DocPage> ListDocs(const std::string& collection, const std::string& cursor,
                                   uint32_t limit) const = 0;
  virtual Result<std::vector<DocCollectionInfo>> ListDocCollections() const = 0;
  // The document as a read right after the event at offset `at` saw it; the
  // errors of GetStateAt, below DocHistoryHorizon().
  virtual Result<DocItem> GetDocAt(const std::string& collection, const std::string& id, uint64_t at) const = 0;
  // ListDocs as of `at`: documents in id order after `after_id` ("" = from
  // the first); next_cursor is the last id when the page is full.
  virtual Result<DocPage> ListDocsAt(const std::string& collection, const std::string& after_id, uint32_t limit,
                                     uint64_t at) const = 0;
  // FindDocs as of `at`: a scan of the collection's documents then, in id
  // order (no sort); the cursor is the last id of the previous page.
  virtual Result<DocPage> FindDocsAt(const DocQuery& query, uint64_t at) const = 0;
  virtual Result<StateHistoryPage> GetDocHistory(const std::string& collection, const std::string& id,
                                                 uint64_t before, uint32_t limit) const = 0;
  virtual Result<uint64_t> DocHistoryHorizon() const = 0;

  // ---- Text search ----
  // Defines (or redefines) the text index of a collection and builds it from
  // the collection's current contents. NotFound for a vector collection
  // that does not exist; a document collection need not have documents yet.
  virtual void SetTextIndex(text::Target target, std::string collection, text::TextSpec spec,
                            Callback<TextIndexInfo> done) = 0;
  // true if there was an index (then it is gone), false (and no event) if not.
  virtual void DropTextIndex(text::Target target, std::string collection, Callback<bool> done) = 0;
  virtual Result<std::vector<TextIndexInfo>> ListTextIndexes() const = 0;
  virtual Result<TextIndexInfo> GetTextIndex(text::Target target, const std::string& collection) const = 0;
  // Hits by score desc, then id asc; at most k. NotFound for a text leg
  // on a collection without a text index.
  virtual Result<std::vector<HybridHit>> SearchHybrid(const HybridQuery& query) const = 0;
  virtual Result<std::vector<DocHit>> SearchDocs(const DocTextQuery& query) const = 0;

  // ---- User events ----
  // Appends {type, data}. With expected_offset, commits only if the newest
  // offset in the log equals it (optimistic append), else Conflict.
  virtual void AppendEvent(std::string type, Json data, std::optional<uint64_t> expected_offset,
                           Callback<Event> done) = 0;
  // Logs an event of a built-in type for a subsystem that is not itself
  // event-sourced (SQL announces each write as a `sql` event). Fire and
  // forget: a failure is only logged.
  virtual void AppendSystemEvent(std::string type, Json data) = 0;
  // Events with offset > since, at most limit. Gone (`compacted`) if events
  // after `since` were removed by retention.
  virtual Result<EventPage> ReadEvents(uint64_t since, uint32_t limit) const = 0;

  // ---- Transactions (docs/transactions.md) ----
  // Evaluates the checks and runs the ops (or on_failure) as one atomic unit.
  // InvalidArgument (naming the op) or PayloadTooLarge before anything is
  // queued; Conflict when the idempotency key belongs to another request.
  virtual void Transact(TxRequest tx, Callback<TxOutcome> done) = 0;

  // ---- API keys ----
  // InvalidArgument for a bad name/role/permissions.
  virtual void CreateApiKey(NewApiKey key, Callback<CreatedApiKey> done) = 0;
  // true once revoked (also when it already was); NotFound for an unknown id.
  // Takes effect before `done` runs: the next LookupApiKey refuses the key.
  virtual void RevokeApiKey(std::string id, Callback<bool> done) = 0;
  // Every key ever created (revoked ones too), in id order; no digests.
  virtual Result<std::vector<ApiKeyInfo>> ListApiKeys() const = 0;
  // The active key with this plain token, or nullopt. In-memory, no I/O.
  virtual std::optional<ApiKeyPrincipal> LookupApiKey(std::string_view token) const = 0;

  // ---- Operations ----
  // Writes a consistent point-in-time copy of every store to `dir` (which
  // must not exist): pauses the commit pipeline, copies LMDB (compacted),
  // the vector collections and the log up to the current offset, runs
  // `hook` (SQL), resumes, then writes dir/manifest.json with sizes and
  // CRC-32C of every file. AlreadyExists when `dir` exists.
  virtual Result<BackupInfo> Backup(const std::string& dir, BackupHook hook) = 0;
  virtual void AddCommitListener(CommitListener listener) = 0;
  // Forces a checkpoint now (tests, admin).
  virtual Status Checkpoint() = 0;
  virtual EngineStats Stats() const = 0;
  // OK while writes are accepted. Otherwise why they are refused:
  // InsufficientStorage while free disk space is below min_free_bytes
  // (measured now; writes resume by themselves once space is freed), or
  // Unavailable after a failed log write, sync or commit (writes stay off
  // until a restart replays the log). Any thread; cheap (one statvfs).
  virtual Status WriteHealth() const = 0;
  // A digest of the materialized state (all stores, key order); equal digests
  // mean equal contents. Used by the determinism tests.
  virtual Result<std::string> StateDigest() const = 0;
};

// Offline: verifies a backup (manifest sizes and CRC-32C) and copies it into
// `data_dir`, which must be empty or absent. A server started on `data_dir`
// then serves the state at the backup's offset.
Status RestoreBackup(const std::string& backup_dir, const std::string& data_dir);

// The same from a tar archive of a backup (GET /v1/admin/backups/{name}),
// read from `fd` (a file or a pipe): unpacked into a staging directory
// beside data_dir, verified and restored as above, the staging directory
// removed. The archive holds the backup directory itself or one top-level
// directory containing it.
Status RestoreBackupArchive(int fd, const std::string& data_dir);

}  // namespace kissvdb
