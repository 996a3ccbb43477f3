// Engine background work: the TTL sweeper, history pruning
// (history_retention.cc) and periodic checkpoints.
//
// Expiry is itself a logged event (state_deleted, reason "ttl"): the sweeper
// only proposes expiries, the commit thread re-checks and logs them, so
// replay never consults a clock.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "engine/engine_impl.h"
#include "engine/state_ops.h"
#include "util/file_util.h"

namespace kissvdb {

namespace {
constexpr uint32_t kSweepBatch = 1000;
}  // namespace

void EngineImpl::BackgroundLoop() {
  using clock = std::chrono::steady_clock;
  const auto sweep_every = std::chrono::milliseconds(std::max<uint32_t>(config_.ttl_sweep_interval_ms, 10));
  const auto checkpoint_every = std::chrono::seconds(std::max<uint32_t>(config_.snapshot_interval_secs, 1));
  auto next_checkpoint = clock::now() + checkpoint_every;
  std::unique_lock lk(bg_mu_);
  while (!closing_) {
    bg_cv_.wait_for(lk, sweep_every, [&] { return closing_; });
    if (closing_) break;
    lk.unlock();
    SweepExpired();
    PruneHistory();
    if (clock::now() >= next_checkpoint) {
      Status st = Checkpoint();
      if (!st.ok()) spdlog::error("checkpoint failed: {}", st.ToString());
      next_checkpoint = clock::now() + checkpoint_every;
    }
    lk.lock();
  }
}

void EngineImpl::SweepExpired() {
  std::vector<std::pair<std::string, uint64_t>> expired;
  {
    auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
    if (!txn.ok()) return;
    if (!materializer_->state().Expired(*txn, clock_.NowMs(), kSweepBatch, &expired).ok()) return;
  }
  if (expired.empty()) return;
  // Wait for the group so the next sweep does not propose the same keys.
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  auto keys = std::make_shared<decltype(expired)>(std::move(expired));
  committer_->Submit(WriteRequest{
      [keys](WriteContext& ctx) {
        for (const auto& [key, at] : *keys) {
          KISSVDB_RETURN_IF_ERROR(state_ops::Expire(ctx, key, at));
        }
        return Status::OK();
      },
      [&](Status st) {
        // A full disk is logged once by the committer, not every sweep.
        if (!st.ok() && st.code() != Code::kInsufficientStorage) spdlog::warn("TTL sweep failed: {}", st.ToString());
        std::lock_guard lk(mu);
        finished = true;
        cv.notify_one();
      }});
  std::unique_lock lk(mu);
  cv.wait(lk, [&] { return finished; });
}

Status EngineImpl::Checkpoint() {
  std::lock_guard lk(checkpoint_mu_);
  uint64_t applied;
  {
    auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
    if (!txn.ok()) return txn.status();
    auto a = materializer_->AppliedOffset(*txn);
    if (!a.ok()) return a.status();
    applied = *a;
  }
  std::string manifest = (std::filesystem::path(config_.data_dir) / "snapshot.json").string();
  if (applied == checkpoint_offset_.load() && std::filesystem::exists(manifest)) return Status::OK();
  // Everything up to `in_memory` is applied to the vector indexes before the
  // vector checkpoint starts, so the files hold at least that much.
  uint64_t in_memory = committer_ ? committer_->memory_applied_offset() : applied;
  KISSVDB_RETURN_IF_ERROR(env_->Sync());
  KISSVDB_RETURN_IF_ERROR(vectors_->Checkpoint());
  KISSVDB_RETURN_IF_ERROR(WriteSnapshotManifest(config_.data_dir, applied, std::min(applied, in_memory)));
  checkpoint_offset_ = applied;
  // The log must keep what the text index has not made durable yet.
  uint64_t keep_from = applied + 1;
  if (text_) {
    auto text_durable = text_->Checkpoint();
    if (!text_durable.ok()) return text_durable.status();
    keep_from = std::min(applied, *text_durable) + 1;
  }
  if (config_.wal_retention_segments > 0 && log_->segment_count() > config_.wal_retention_segments) {
    bool closing;
    {
      std::lock_guard bg(bg_mu_);
      closing = closing_;
    }
    if (!closing) {
      committer_->RunTask([this, keep_from] {
        Status st = log_->DeleteSegmentsBefore(keep_from);
        if (!st.ok()) spdlog::warn("WAL retention: {}", st.ToString());
      });
    }
  }
  return Status::OK();
}

Status EngineImpl::WriteSnapshotManifest(const std::string& dir, uint64_t offset, uint64_t vectors_offset) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto lmdb_bytes = fs::file_size(fs::path(dir) / "state.lmdb", ec);
  Json manifest{
      {"format_version", 1},
      {"offset", offset},
      {"ts_ms", clock_.NowMs()},
      {"stores",
       {{"state", {{"file", "state.lmdb"}, {"bytes", ec ? 0 : lmdb_bytes}, {"applied_offset", offset}}},
        {"vectors", {{"dir", "vectors"}, {"collections", vectors_->List().size()}, {"applied_offset", vectors_offset}}}}},
      {"wal", {{"first_offset", log_->first_offset()}, {"segments", log_->segment_count()}}},
  };
  return file_util::AtomicWriteFile((fs::path(dir) / "snapshot.json").string(), manifest.dump(2) + "\n");
}

}  // namespace kissvdb
