// Collection: one named set of vectors behind one hnswlib graph.
//
// Points have string ids; the graph knows them by "label", a dense slot
// number. Invariant: label == hnswlib's internal id, for every slot. A new
// point takes a freed slot when there is one (hnswlib's addPoint on a label
// marked deleted revives that same slot with the new vector) and otherwise
// appends a slot, growing the graph's capacity by doubling first. We do not
// use hnswlib's allow_replace_deleted: it moves a new label into an
// arbitrary deleted slot and would then unmap a reused label still held by
// another deleted slot; reviving in place keeps label == slot and makes slot
// reuse deterministic.
//
// Every returned score is recomputed in double precision from the stored
// vectors (see Score in collection.cc), so graph and brute-force answers
// agree bit for bit and ties break the same way: score desc, then id asc.
//
// Thread-safety: reads (Get, Contains, Search, Info, Save) take a shared
// lock, writes (Upsert, Delete) an exclusive one, so many searches run in
// parallel and a write blocks only this collection. hnswlib's searchKnn
// paths are safe for concurrent readers when nothing writes.
//
// Files: Save/Load live in collection_files.cc; docs/vector-format.md
// describes the bytes.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "vector/hnsw.h"
#include "vector/types.h"

namespace kissvdb::vector {

class Collection {
 public:
  // An empty collection. REQUIRES: ValidateSpec(spec) is OK.
  Collection(CollectionSpec spec, uint64_t created_at_ms, uint64_t applied_offset);
  ~Collection();

  Collection(const Collection&) = delete;
  Collection& operator=(const Collection&) = delete;

  // Loads the collection stored in `dir` (a directory holding
  // manifest.json). Any missing, short or corrupt file, or files that do
  // not agree with each other, give Corruption naming the file.
  static Result<std::unique_ptr<Collection>> Load(const std::string& dir);

  // Writes the collection to `dir` if anything changed since the last Save
  // (new generation of files, manifest last, old generation removed).
  // Holds the shared lock while writing, so writes to this collection wait.
  // REQUIRES: calls to Save are serialised by the caller.
  Status Save(const std::string& dir);

  const CollectionSpec& spec() const { return spec_; }
  CollectionInfo Info() const;
  uint64_t applied_offset() const;

  bool Contains(std::string_view id) const;
  Result<VectorRecord> Get(std::string_view id) const;
  // Whether `id` is live and its meta passes `filter` (null: any); if so and
  // `meta` is not null, a copy of its meta.
  bool Accepts(std::string_view id, const JsonFilter* filter, Json* meta) const;
  // Whether each id is live, under one lock.
  std::vector<bool> Live(const std::vector<std::string_view>& ids) const;
  // Calls fn(id, meta) for every live point, in slot order, until fn fails.
  Status ForEach(const std::function<Status(std::string_view id, const Json& meta)>& fn) const;
  Result<std::vector<SearchHit>> Search(const SearchRequest& req, SearchStats* stats) const;

  // Apply a logged change. A change whose offset is <= applied_offset() is
  // already reflected and is skipped, so replaying a log tail over loaded
  // files is safe. Deleting an absent id is a no-op.
  Status Upsert(uint64_t offset, uint64_t ts_ms, std::string_view id, std::span<const float> vector, const Json& meta);
  Status Delete(uint64_t offset, uint64_t ts_ms, std::string_view id);

  // The graph's one large allocation (vectors and base-layer links), which
  // AdviseIndexMemory puts in huge pages. For tests and diagnostics.
  std::span<const char> GraphMemory() const;

 private:
  struct Row {
    std::string id;           // empty for a free slot
    Json meta;                // null when none
    std::vector<float> raw;   // cosine only: the vector as given
    bool live = false;
  };
  struct Scored {
    float score;
    size_t label;
  };

  static constexpr size_t kInitialCapacity = 16;  // graph slots of a new collection
  static constexpr size_t kRandomSeed = 100;      // hnswlib level generator

  Collection(CollectionSpec spec);  // for Load: no graph yet
  void InitSpace();
  // Puts the graph's vectors and base-layer links in huge pages (after a
  // load or a resize: hnswlib allocates them with malloc/realloc).
  // REQUIRES: mu_ held exclusively, or no other thread sees the collection.
  void AdviseIndexMemory();

  // REQUIRES: mu_ held (shared or exclusive).
  const float* StoredVector(size_t label) const;
  float Score(const float* query, size_t label) const;
  std::vector<Scored> BruteForce(const float* query, const JsonFilter* filter, size_t k) const;
  // The up-to-ef closest points `accept` (internal id -> bool) admits, as
  // (distance, label) closest first: WalkGraph with this CPU's kernels.
  template <typename Accept>
  std::vector<std::pair<float, size_t>> Walk(const float* query, size_t ef, const Accept& accept) const;
  std::vector<Scored> GraphSearch(const float* query, const JsonFilter* filter, size_t k, size_t ef) const;
  double EstimateSelectivity(const JsonFilter& filter) const;
  bool Ordered(const Scored& a, const Scored& b) const;
  bool Dirty() const;

  const CollectionSpec spec_;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;  // uses space_: declared after it

  mutable std::shared_mutex mu_;
  std::vector<Row> rows_;                               // by label
  // Looked up by string_view without a copy.
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, size_t, IdHash, std::equal_to<>> labels_;  // live id -> label
  std::vector<size_t> free_;                            // freed labels, reused from the back
  uint64_t created_at_ms_ = 0;
  uint64_t updated_at_ms_ = 0;
  uint64_t upsert_count_ = 0;
  uint64_t applied_offset_ = 0;

  // Written by Save under the shared lock; read by Info().
  std::atomic<uint64_t> persisted_offset_{0};
  std::atomic<uint64_t> generation_{0};   // of the files on disk; 0 = never saved
  std::atomic<uint64_t> file_bytes_{0};
};

}  // namespace kissvdb::vector
