// TextIndex: full-text indexes over vector items' meta and documents, in
// one SQLite database of FTS5 tables (<data_dir>/text.sqlite).
//
// The index is a materialized view of the log like every store. Apply()
// takes the events of one commit group, in offset order, and writes their
// effect and the group's last offset in one SQLite transaction, so a crash
// re-applies exactly what is missing. Items are taken from the events
// themselves (vector events and doc_updated carry the full record); a
// definition event (a *_text_index_set, or a vector collection created with
// "text") builds the index from the collection's current contents, read
// through a Source. At boot the stores may already be ahead of such an event;
// that is harmless because every later event replaces an item whole, so the
// index converges to the same contents (docs/search.md, "Exactly once").
//
// Layout (docs/storage-layout.md): table `meta` (format_version,
// applied_offset), table `indexes` (id, target, collection, spec), and per
// index N a map `m<N>(rid INTEGER PRIMARY KEY, item TEXT UNIQUE)` and an
// FTS5 table `f<N>(c0, c1, ...)` with one column per field, rowid = rid.
//
// Thread-safety: Apply/Rebuild/Checkpoint come from one thread at a time
// (the commit thread, boot, the checkpointer; serialized by a mutex).
// Reads run in parallel on pooled read connections (WAL mode), each seeing
// the last committed group.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "kissvdb/event.h"
#include "kissvdb/status.h"
#include "text/text_defs.h"
#include "text/types.h"

namespace kissvdb::text {

class SqliteConn;

struct IndexInfo {
  IndexDef def;
  uint64_t items = 0;  // items or documents with indexed text
};

class TextIndex {
 public:
  // Receives each item of a collection: its id and the object its text is
  // taken from (a vector item's meta, a document).
  using ItemSink = std::function<Status(std::string_view id, const Json& object)>;
  // Calls `sink` for every item of a collection (none if it does not exist).
  using Source = std::function<Status(Target target, const std::string& collection, const ItemSink& sink)>;

  // Opens or creates the database at `path`. A file of another format
  // version, or one SQLite finds damaged, is removed and created anew:
  // fresh() then tells the caller to Rebuild().
  static Result<std::unique_ptr<TextIndex>> Open(const std::string& path);
  ~TextIndex();

  bool fresh() const { return fresh_; }
  // The offset of the last event the database holds the effect of.
  uint64_t applied_offset() const;

  // ---- Writes (one thread at a time) ----
  // REQUIRES: events in offset order, after every earlier offset.
  Status Apply(const std::vector<Event>& events, const Source& source);
  // Replaces every index with `defs` built from `source`, as of `offset`.
  Status Rebuild(const std::vector<IndexDef>& defs, const Source& source, uint64_t offset);
  // Records the last applied offset and syncs the database (WAL
  // checkpoint). Returns the offset now durable.
  Result<uint64_t> Checkpoint();

  // ---- Reads (any thread) ----
  std::optional<TextSpec> Spec(Target target, const std::string& collection) const;
  std::vector<IndexDef> Definitions() const;  // in (target, collection) order
  Result<std::vector<IndexInfo>> List() const;
  // Items matching `match` (query.h), best BM25 first (ties by id), until
  // `limit` of them pass `accept` (null: all pass). NotFound if the
  // collection has no text index; InvalidQuery for a malformed FTS5 query.
  Result<std::vector<TextHit>> Search(Target target, const std::string& collection, const std::string& match,
                                      size_t limit, const std::function<bool(std::string_view id)>& accept,
                                      const Highlight& highlight) const;
  // The snippet of one item for `match`; nullopt when it does not match.
  Result<std::optional<std::string>> Snippet(Target target, const std::string& collection, const std::string& match,
                                             const std::string& id, const Highlight& highlight) const;
  // Two 64-bit hashes over every definition and every item's text, in key
  // order (not rowids): equal digests mean equal contents.
  Result<std::string> Digest() const;

 private:
  struct Table {
    int64_t id = 0;
    TextSpec spec;
  };
  using Key = std::pair<Target, std::string>;
  class ReadLease;

  explicit TextIndex(std::string path);
  Status Init();
  Status LoadTables();
  // Inside the writer's transaction; they change work_ only.
  Status DropTable(const Key& key);
  Status CreateTable(const IndexDef& def, const Source& source);
  Status PutItem(const Table& table, std::string_view id, const Json& object);
  Status DeleteItem(const Table& table, std::string_view id);
  Status ApplyOne(const Event& event, const Source& source, bool* changed);
  Status SetApplied(uint64_t offset);
  std::optional<Table> TableOf(Target target, const std::string& collection) const;
  // Ends the writer's transaction: commits and publishes work_ to readers,
  // or rolls back and forgets work_'s changes.
  Status Finish(Status st, bool tables_changed);

  const std::string path_;
  bool fresh_ = false;

  std::mutex write_mu_;                   // the writer connection and tables_ changes
  std::unique_ptr<SqliteConn> writer_;
  uint64_t applied_ = 0;                  // under write_mu_
  uint64_t persisted_ = 0;                // applied offset on disk; under write_mu_
  std::atomic<uint64_t> applied_view_{0};

  std::map<Key, Table> work_;             // the writer's view; under write_mu_
  mutable std::shared_mutex tables_mu_;   // readers take it shared
  std::map<Key, Table> tables_;           // as committed

  mutable std::mutex pool_mu_;
  mutable std::vector<std::unique_ptr<SqliteConn>> pool_;  // idle read connections
};

}  // namespace kissvdb::text
