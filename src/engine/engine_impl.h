// EngineImpl: wiring of log, stores, commit thread and background work.
// The public contract is include/kissvdb/engine.h.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/committer.h"
#include "engine/materializer.h"
#include "engine/wal/log.h"
#include "kissvdb/engine.h"
#include "kv/lmdb.h"
#include "text/query.h"

namespace kissvdb {

class EngineImpl final : public Engine {
 public:
  explicit EngineImpl(const EngineOptions& options);
  ~EngineImpl() override;

  Status Boot();
  void Close() override;

  void PutState(StatePut put, Callback<StatePutResult> done) override;
  void DeleteState(std::string key, Callback<bool> done) override;
  void BatchPutState(std::vector<StatePut> puts, bool atomic, Callback<StateBatchResult> done) override;
  Result<StateItem> GetState(const std::string& key) const override;
  Result<StateItem> GetStateAt(const std::string& key, uint64_t at) const override;
  Result<StatePage> ListStateAt(const std::string& prefix, const std::string& after, uint32_t limit,
                                uint64_t at) const override;
  Result<StateHistoryPage> GetStateHistory(const std::string& key, uint64_t before, uint32_t limit) const override;
  Result<uint64_t> HistoryHorizon() const override;
  HistoryStats HistoryUsage() const override;
  Result<DocItem> GetDocAt(const std::string& collection, const std::string& id, uint64_t at) const override;
  Result<DocPage> ListDocsAt(const std::string& collection, const std::string& after_id, uint32_t limit,
                             uint64_t at) const override;
  Result<DocPage> FindDocsAt(const DocQuery& query, uint64_t at) const override;
  Result<StateHistoryPage> GetDocHistory(const std::string& collection, const std::string& id, uint64_t before,
                                         uint32_t limit) const override;
  Result<uint64_t> DocHistoryHorizon() const override;
  Result<StatePage> ListState(const std::string& prefix, const std::string& after,
                              uint32_t limit) const override;

  using Engine::CreateVectorCollection;
  void CreateVectorCollection(vector::CollectionSpec spec, std::optional<text::TextSpec> text,
                              Callback<vector::CollectionSpec> done) override;
  void DropVectorCollection(std::string collection, Callback<bool> done) override;
  void WriteVectors(std::string collection, VectorWriteKind kind, std::vector<VectorWrite> items, bool atomic,
                    Callback<VectorBatchResult> done) override;
  void DeleteVectors(std::string collection, std::vector<std::string> ids, bool atomic,
                     Callback<VectorBatchResult> done) override;
  Result<vector::VectorRecord> GetVector(const std::string& collection, const std::string& id) const override;
  Result<std::vector<vector::SearchHit>> SearchVectors(const std::string& collection,
                                                       const vector::SearchRequest& request,
                                                       vector::SearchStats* stats) const override;
  Result<vector::CollectionInfo> VectorCollection(const std::string& collection) const override;
  std::vector<vector::CollectionInfo> ListVectorCollections() const override;

  void PutDoc(DocPut put, Callback<DocItem> done) override;
  void PatchDoc(DocPatch patch, Callback<DocItem> done) override;
  void DeleteDoc(std::string collection, std::string id, std::optional<uint64_t> if_revision,
                 Callback<bool> done) override;
  void DropDocCollection(std::string collection, Callback<uint64_t> done) override;
  Result<DocItem> GetDoc(const std::string& collection, const std::string& id) const override;
  Result<DocPage> FindDocs(const DocQuery& query) const override;
  Result<DocPage> ListDocs(const std::string& collection, const std::string& cursor, uint32_t limit) const override;
  Result<std::vector<DocCollectionInfo>> ListDocCollections() const override;

  void SetTextIndex(text::Target target, std::string collection, text::TextSpec spec,
                    Callback<TextIndexInfo> done) override;
  void DropTextIndex(text::Target target, std::string collection, Callback<bool> done) override;
  Result<std::vector<TextIndexInfo>> ListTextIndexes() const override;
  Result<TextIndexInfo> GetTextIndex(text::Target target, const std::string& collection) const override;
  Result<std::vector<HybridHit>> SearchHybrid(const HybridQuery& query) const override;
  Result<std::vector<DocHit>> SearchDocs(const DocTextQuery& query) const override;

  void Transact(TxRequest tx, Callback<TxOutcome> done) override;
  void AppendEvent(std::string type, Json data, std::optional<uint64_t> expected_offset,
                   Callback<Event> done) override;
  void AppendSystemEvent(std::string type, Json data) override;
  Result<EventPage> ReadEvents(uint64_t since, uint32_t limit) const override;

  void CreateApiKey(NewApiKey key, Callback<CreatedApiKey> done) override;
  void RevokeApiKey(std::string id, Callback<bool> done) override;
  Result<std::vector<ApiKeyInfo>> ListApiKeys() const override;
  std::optional<ApiKeyPrincipal> LookupApiKey(std::string_view token) const override;

  Result<BackupInfo> Backup(const std::string& dir, BackupHook hook) override;
  void AddCommitListener(CommitListener listener) override;
  Status Checkpoint() override;
  EngineStats Stats() const override;
  Status WriteHealth() const override;
  Result<std::string> StateDigest() const override;

 private:
  // History reads (engine_history.cc).
  Status CheckHistoryAt(const kv::Txn& txn, const kv::OffsetHistory& history, uint64_t at) const;
  Result<uint64_t> EventTimeAt(uint64_t at) const;
  // Retention (history_retention.cc).
  Status OpenHistory();
  Result<uint64_t> EffectiveHorizon(const kv::Txn& txn, const kv::OffsetHistory& history) const;
  Result<uint64_t> HistoryTarget(uint64_t applied, uint64_t stored) const;
  void PruneHistory();
  Status DiscardStateTornByPowerLoss();
  // The offset of the last checkpoint (snapshot.json), 0 if none.
  uint64_t CheckpointOffset() const;
  Status OpenVectors(uint64_t* replay_from);
  Status ReplayLogTail();
  // Opens the text index and brings it to the log's end: catches up from
  // its applied offset, or rebuilds it from the stores (engine_text.cc).
  Status OpenText();
  // The text leg of a search: its query checked against the limits.
  Result<text::Query> TextMatch(const std::string& text, text::Syntax syntax, text::Tokenizer tokenizer) const;
  // Submits a batch of per-item mutations to the commit thread (see
  // Engine::WriteVectors for the atomic/non-atomic contract).
  // NotFound for the whole call when the collection does not exist.
  void SubmitItems(std::shared_ptr<const std::string> collection, size_t count, bool atomic,
                   std::function<Status(WriteContext&, size_t)> item, Callback<VectorBatchResult> done);
  void BackgroundLoop();
  void SweepExpired();
  // Writes <dir>/snapshot.json (dir: the data dir, or a backup).
  Status WriteSnapshotManifest(const std::string& dir, uint64_t offset, uint64_t vectors_offset);
  // backup.cc: the copy made while the commit thread is paused.
  Status CopyPaused(const std::string& dir, const BackupHook& hook, uint64_t* offset);

  const Config config_;
  Clock& clock_;
  std::unique_ptr<wal::Log> log_;
  std::unique_ptr<kv::LmdbEnv> env_;
  std::unique_ptr<Materializer> materializer_;
  std::unique_ptr<vector::VectorStore> vectors_;
  vector::VectorLimits vector_limits_;
  uint64_t vector_replay_from_ = 0;  // boot: first offset the vector files may lack
  std::unique_ptr<text::TextIndex> text_;  // before committer_: outlives it
  std::unique_ptr<Committer> committer_;

  std::mutex checkpoint_mu_;  // one checkpoint at a time
  std::atomic<uint64_t> checkpoint_offset_{0};

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool closing_ = false;
  bool closed_ = false;
  std::thread background_;  // TTL sweeper, history pruning, periodic checkpoints

  // A pruning pass over one history table (background thread only).
  struct PruneCursor {
    uint64_t horizon = 0;  // of the pass running or last completed
    std::string from;      // where the next batch starts
    bool running = false;
    std::chrono::steady_clock::time_point started, next_pass;
  };
  PruneCursor prune_state_, prune_docs_;
  std::atomic<uint64_t> history_pruned_{0};
};

}  // namespace kissvdb
