#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "engine/engine_impl.h"
#include "util/file_util.h"

namespace kissvdb {

namespace {
// Events applied per LMDB transaction while replaying.
constexpr size_t kReplayChunk = 8192;
}  // namespace

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  auto engine = std::make_unique<EngineImpl>(options);
  KISSVDB_RETURN_IF_ERROR(engine->Boot());
  return std::unique_ptr<Engine>(std::move(engine));
}

EngineImpl::EngineImpl(const EngineOptions& options) : config_(options.config), clock_(*options.clock) {}

EngineImpl::~EngineImpl() { Close(); }

Status EngineImpl::Boot() {
  const std::string& dir = config_.data_dir;
  KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs(dir));

  wal::LogOptions log_options;
  log_options.dir = dir;
  log_options.segment_max_bytes = config_.wal_segment_max_bytes;
  log_options.repair = config_.repair;
  wal::RecoveryReport report;
  auto log = wal::Log::Open(log_options, &report);
  if (!log.ok()) return log.status();
  log_ = std::move(log.value());
  if (report.torn_bytes_truncated > 0) {
    spdlog::warn("WAL: truncated a torn tail of {} bytes in {}", report.torn_bytes_truncated, report.torn_segment);
  }
  if (report.repaired_from_offset > 0) {
    spdlog::error("WAL: --repair dropped every event from offset {} on", report.repaired_from_offset);
  }

  kv::LmdbEnv::Options env_options;
  env_options.path = (std::filesystem::path(dir) / "state.lmdb").string();
  env_options.map_size = config_.lmdb_map_size;
  auto env = kv::LmdbEnv::Open(env_options);
  if (!env.ok()) return env.status();
  env_ = std::move(env.value());
  auto materializer = Materializer::Open(*env_);
  if (!materializer.ok()) return materializer.status();
  materializer_ = std::move(materializer.value());

  auto started = std::chrono::steady_clock::now();
  KISSVDB_RETURN_IF_ERROR(ReplayLogTail());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  spdlog::info("engine: log offsets {}..{} in {} segment(s), state at offset {}, boot replay {} ms",
               log_->first_offset(), log_->next_offset() - 1, log_->segment_count(),
               log_->next_offset() - 1, ms.count());

  committer_ = std::make_unique<Committer>(*log_, *materializer_, clock_, config_);
  committer_->Start();
  background_ = std::thread([this] { BackgroundLoop(); });
  return Status::OK();
}

Status EngineImpl::ReplayLogTail() {
  uint64_t applied;
  {
    auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
    if (!txn.ok()) return txn.status();
    auto a = materializer_->AppliedOffset(*txn);
    if (!a.ok()) return a.status();
    applied = *a;
  }
  checkpoint_offset_ = applied;
  const uint64_t last = log_->next_offset() - 1;
  if (applied > last) {
    return Status::Corruption("state.lmdb has applied offset " + std::to_string(applied) +
                              " but the log ends at " + std::to_string(last) +
                              "; the log lost acknowledged events (restore the log or remove state.lmdb to "
                              "rebuild from what the log holds)");
  }
  if (applied == last) return Status::OK();
  if (applied + 1 < log_->first_offset()) {
    return Status::Corruption("state.lmdb is at offset " + std::to_string(applied) +
                              " but the oldest log segment starts at " + std::to_string(log_->first_offset()));
  }
  spdlog::info("engine: replaying offsets {}..{}", applied + 1, last);
  auto reader = log_->NewReader(applied + 1, last);
  Event ev;
  uint64_t expected = applied + 1;
  while (expected <= last) {
    auto txn = kv::Txn::Begin(*env_, /*read_only=*/false);
    if (!txn.ok()) return txn.status();
    size_t n = 0;
    while (n < kReplayChunk && expected <= last && reader->Next(&ev)) {
      if (ev.offset != expected) {
        return Status::Corruption("log offset " + std::to_string(ev.offset) + " where " +
                                  std::to_string(expected) + " was expected");
      }
      KISSVDB_RETURN_IF_ERROR(materializer_->ApplyToTxn(*txn, ev));
      ++expected;
      ++n;
    }
    KISSVDB_RETURN_IF_ERROR(reader->status());
    if (n == 0) {
      return Status::Corruption("log ended at offset " + std::to_string(expected - 1) + ", expected " +
                                std::to_string(last));
    }
    KISSVDB_RETURN_IF_ERROR(materializer_->SetAppliedOffset(*txn, expected - 1));
    KISSVDB_RETURN_IF_ERROR(txn->Commit());
  }
  return Status::OK();
}

void EngineImpl::Close() {
  {
    std::lock_guard lk(bg_mu_);
    if (closed_) return;
    closed_ = true;
    closing_ = true;
  }
  bg_cv_.notify_all();
  if (background_.joinable()) background_.join();
  if (committer_) committer_->Stop();
  if (env_) {
    Status st = Checkpoint();
    if (!st.ok()) spdlog::error("final checkpoint failed: {}", st.ToString());
  }
}

void EngineImpl::AddCommitListener(CommitListener listener) { committer_->AddListener(std::move(listener)); }

EngineStats EngineImpl::Stats() const {
  EngineStats s;
  s.last_offset = log_->durable_offset();
  s.first_offset = log_->first_offset();
  s.wal_segments = log_->segment_count();
  s.wal_bytes = log_->total_bytes();
  s.checkpoint_offset = checkpoint_offset_.load();
  s.commit_batches = committer_ ? committer_->batches() : 0;
  s.committed_events = committer_ ? committer_->events() : 0;
  return s;
}

Result<std::string> EngineImpl::StateDigest() const {
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  return materializer_->Digest(*txn);
}

}  // namespace kissvdb
