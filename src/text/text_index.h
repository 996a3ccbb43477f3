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
// Ranked plain queries (words OR-ed, one term each) of unicode61 and porter
// indexes are answered from in-memory postings (postings.h, the same BM25
// to the bit), built from the table on an index's first such search and
// kept up to date by Apply after each commit; FTS5-syntax queries, trigram
// indexes and words FTS5 cuts into phrases go to SQL.
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
#include <set>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "kissvdb/event.h"
#include "kissvdb/status.h"
#include "text/query.h"
#include "text/text_defs.h"
#include "text/types.h"

namespace kissvdb::text {

class SqliteConn;
class Fts5Tokenizers;
class Postings;

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
  // Items matching `query` (query.h), best BM25 first (ties by id), until
  // `limit` of them pass `accept` (null: all pass). NotFound if the
  // collection has no text index; InvalidQuery for a malformed FTS5 query.
  Result<std::vector<TextHit>> Search(Target target, const std::string& collection, const Query& query,
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
  struct Memory;  // one table's postings and their lock
  // A change to an item made by the writer's open transaction, for the
  // postings once it commits.
  struct Pending {
    int64_t table;
    Tokenizer tokenizer;
    std::string item;
    std::optional<std::vector<std::string>> fields;  // none: removed
  };

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
  // Every committed index with its table id, in key order.
  std::vector<std::pair<IndexDef, int64_t>> Committed() const;
  // Ends the writer's transaction: commits and publishes work_ to readers,
  // or rolls back and forgets work_'s changes.
  Status Finish(Status st, bool tables_changed);

  // ---- In-memory postings (text_index_postings.cc) ----
  // The words of `query` as single terms; nullopt when the postings cannot
  // answer it (FTS5 syntax, trigram, a word FTS5 cuts into a phrase).
  std::optional<std::vector<std::string>> QueryTerms(const Table& table, const Query& query) const;
  // The table's postings, built from its rows on first use (under the
  // writer's mutex, so that no commit falls between the read and Apply's
  // updates). NotFound when the table went away meanwhile.
  Result<std::shared_ptr<Memory>> MemoryOf(const Key& key, const Table& table) const;
  // Records an item change of the open transaction for the postings.
  void Note(const Table& table, std::string_view id, const std::vector<std::string>* fields);
  // After a commit: applies the noted changes and drops the postings of
  // tables that went away. After a rollback: forgets them.
  void PublishPostings(bool committed);
  Result<std::vector<TextHit>> SearchPostings(const Key& key, const Table& table, const Query& query,
                                              const std::vector<std::string>& terms, size_t limit,
                                              const std::function<bool(std::string_view id)>& accept,
                                              const Highlight& highlight) const;

  const std::string path_;
  bool fresh_ = false;

  mutable std::mutex write_mu_;           // the writer connection and tables_ changes
  std::unique_ptr<SqliteConn> writer_;
  uint64_t applied_ = 0;                  // under write_mu_
  uint64_t persisted_ = 0;                // applied offset on disk; under write_mu_
  std::atomic<uint64_t> applied_view_{0};

  std::map<Key, Table> work_;             // the writer's view; under write_mu_
  mutable std::shared_mutex tables_mu_;   // readers take it shared
  std::map<Key, Table> tables_;           // as committed

  std::unique_ptr<Fts5Tokenizers> tokenizers_;
  std::vector<Pending> pending_;          // under write_mu_
  std::set<int64_t> dropped_;             // tables dropped by the open transaction; under write_mu_
  mutable std::mutex memory_mu_;          // memory_ itself; each Memory has its own lock
  mutable std::map<int64_t, std::shared_ptr<Memory>> memory_;  // by table id, built ones only

  mutable std::mutex pool_mu_;
  mutable std::vector<std::unique_ptr<SqliteConn>> pool_;  // idle read connections
};

}  // namespace kissvdb::text
