// EngineImpl: wiring of log, stores, commit thread and background work.
// The public contract is include/kissvdb/engine.h.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/committer.h"
#include "engine/materializer.h"
#include "engine/wal/log.h"
#include "kissvdb/engine.h"
#include "kv/lmdb.h"

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
  Result<std::vector<StateItem>> ListState(const std::string& prefix, const std::string& after,
                                           uint32_t limit) const override;

  void AppendEvent(std::string type, Json data, std::optional<uint64_t> expected_offset,
                   Callback<Event> done) override;
  Result<EventPage> ReadEvents(uint64_t since, uint32_t limit) const override;

  void AddCommitListener(CommitListener listener) override;
  Status Checkpoint() override;
  EngineStats Stats() const override;
  Result<std::string> StateDigest() const override;

 private:
  Status ReplayLogTail();
  void BackgroundLoop();
  void SweepExpired();
  Status WriteSnapshotManifest(uint64_t offset);

  const Config config_;
  Clock& clock_;
  std::unique_ptr<wal::Log> log_;
  std::unique_ptr<kv::LmdbEnv> env_;
  std::unique_ptr<Materializer> materializer_;
  std::unique_ptr<Committer> committer_;

  std::mutex checkpoint_mu_;  // one checkpoint at a time
  std::atomic<uint64_t> checkpoint_offset_{0};

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool closing_ = false;
  bool closed_ = false;
  std::thread background_;  // TTL sweeper + periodic checkpoints
};

}  // namespace kissvdb
