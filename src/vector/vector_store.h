// VectorStore: every vector collection, in memory and under one directory.
//
// The store is a materialised view of the log. The engine validates a change
// (see validator.h), logs it as an event carrying the full resulting data,
// then calls the matching Apply* here; boot replays the log tail through the
// same Apply* calls. Apply* touch memory only (never the disk), are
// deterministic, and skip any event whose offset is <= the collection's
// applied offset, so replaying events already contained in the loaded files
// is harmless. Checkpoint() is the only call that writes files.
//
// Layout: <dir>/<EncodeCollectionName(name)>/ holds one collection (see
// docs/vector-format.md). Entries whose name contains '.' are never
// collections (temp files, "<name>.corrupt" quarantine).
//
// Thread-safety: all methods may be called concurrently. Reads and searches
// run in parallel; a write locks only its collection; Apply* calls must come
// from one thread at a time (the engine's commit thread) so offsets arrive
// in order. Checkpoint() may run on another thread; it blocks writes to the
// collection it is saving, not searches.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vector/types.h"

namespace kissvdb::vector {

class Collection;

class VectorStore {
 public:
  struct Options {
    // A collection whose files fail to load makes Open fail with
    // Corruption naming the file, unless this is set: then its directory is
    // renamed to "<encoded name>.corrupt", Open succeeds without it and
    // quarantined() lists it, for the engine to rebuild from the log.
    bool quarantine_corrupt = false;
  };

  // Opens the store rooted at `dir` (created if missing) and loads every
  // collection stored there.
  static Result<std::unique_ptr<VectorStore>> Open(const std::string& dir, const Options& options);
  static Result<std::unique_ptr<VectorStore>> Open(const std::string& dir) { return Open(dir, Options()); }
  ~VectorStore();

  VectorStore(const VectorStore&) = delete;
  VectorStore& operator=(const VectorStore&) = delete;

  // Collections set aside by Open (quarantine_corrupt): decoded name and the
  // load error.
  const std::vector<std::pair<std::string, Status>>& quarantined() const { return quarantined_; }

  // ---- Reads ----
  std::optional<CollectionInfo> Info(std::string_view collection) const;
  std::vector<CollectionInfo> List() const;  // sorted by name
  bool Contains(std::string_view collection, std::string_view id) const;
  Result<VectorRecord> Get(std::string_view collection, std::string_view id) const;  // NotFound
  // Whether the point is live and its meta passes `filter` (null: any);
  // then `meta` (if not null) gets a copy of its meta.
  bool Accepts(std::string_view collection, std::string_view id, const JsonFilter* filter, Json* meta) const;
  // Whether each id is a live point (all false without the collection).
  std::vector<bool> Live(std::string_view collection, const std::vector<std::string_view>& ids) const;
  // Calls fn(id, meta) for every live point of a collection (none if it does
  // not exist), until fn fails.
  Status ForEachItem(std::string_view collection,
                     const std::function<Status(std::string_view id, const Json& meta)>& fn) const;
  // Hits by score desc, then id asc; at most req.k. NotFound for an unknown
  // collection; DimMismatch / InvalidArgument for a bad query. Callers
  // check k and ef limits with ValidateSearch first.
  Result<std::vector<SearchHit>> Search(std::string_view collection, const SearchRequest& req,
                                        SearchStats* stats = nullptr) const;

  // ---- Apply (the commit thread, and replay at boot) ----
  // REQUIRES: offsets >= 1 and increasing across calls; the change passed
  // validation. A create for a collection that exists with an applied
  // offset >= `offset` is a replay and is skipped; dropping or deleting
  // something absent is a no-op. Errors mean a broken invariant.
  Status ApplyCreate(uint64_t offset, uint64_t ts_ms, const CollectionSpec& spec);
  Status ApplyDrop(uint64_t offset, std::string_view collection);
  // Add, upsert and update all apply as an upsert of the full record.
  Status ApplyUpsert(uint64_t offset, uint64_t ts_ms, std::string_view collection, std::string_view id,
                     std::span<const float> vector, const Json& meta);
  Status ApplyDelete(uint64_t offset, uint64_t ts_ms, std::string_view collection, std::string_view id);

  // ---- Atomic units ----
  // The commit thread holds this while it applies the events of an atomic
  // unit of several events (a transaction); Search, Get, Live and Contains
  // hold it shared, so none of them sees part of a unit.
  std::unique_lock<std::shared_mutex> LockUnit() const { return std::unique_lock(unit_mu_); }

  // ---- Persistence ----
  // Removes the directories of dropped collections, then writes every
  // collection changed since its last save (manifest last). On success,
  // everything applied before the call is on disk: if the engine notes the
  // last offset it had applied before calling, replay can start after it.
  // Calls are serialised internally.
  Status Checkpoint();

 private:
  explicit VectorStore(std::string dir);
  std::shared_ptr<Collection> Find(std::string_view name) const;
  std::string DirOf(std::string_view name) const;

  const std::string dir_;
  std::vector<std::pair<std::string, Status>> quarantined_;

  mutable std::shared_mutex unit_mu_;  // see LockUnit(); taken before mu_
  mutable std::shared_mutex mu_;  // guards the two maps below
  std::map<std::string, std::shared_ptr<Collection>, std::less<>> collections_;
  std::map<std::string, uint64_t, std::less<>> pending_drops_;  // name -> offset of the drop

  std::mutex checkpoint_mu_;
};

}  // namespace kissvdb::vector
