#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "engine/engine_impl.h"
#include "engine/open_marker.h"
#include "engine/replay.h"
#include "util/file_util.h"

namespace fs = std::filesystem;

namespace kissvdb {

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  auto engine = std::make_unique<EngineImpl>(options);
  KISSVDB_RETURN_IF_ERROR(engine->Boot());
  return std::unique_ptr<Engine>(std::move(engine));
}

EngineImpl::EngineImpl(const EngineOptions& options) : config_(options.config), clock_(*options.clock) {
  vector_limits_.max_dim = config_.limits.max_vector_dim;
  vector_limits_.max_k = config_.limits.max_k;
}

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
    spdlog::warn("WAL: truncated a torn tail of {} bytes in {} ({} whole events of an incomplete atomic unit)",
                 report.torn_bytes_truncated, report.torn_segment, report.torn_unit_events);
  }
  if (report.repaired_from_offset > 0) {
    spdlog::error("WAL: --repair dropped every event from offset {} on", report.repaired_from_offset);
  }

  KISSVDB_RETURN_IF_ERROR(DiscardStateTornByPowerLoss());

  kv::LmdbEnv::Options env_options;
  env_options.path = (std::filesystem::path(dir) / "state.lmdb").string();
  env_options.map_size = config_.lmdb_map_size;
  auto env = kv::LmdbEnv::Open(env_options);
  if (!env.ok()) return env.status();
  env_ = std::move(env.value());
  auto materializer = Materializer::Open(*env_);
  if (!materializer.ok()) return materializer.status();
  materializer_ = std::move(materializer.value());
  materializer_->set_tx_window_ms(config_.tx_idempotency_window_ms);
  KISSVDB_RETURN_IF_ERROR(OpenHistory());

  KISSVDB_RETURN_IF_ERROR(OpenVectors(&vector_replay_from_));
  materializer_->set_vectors(vectors_.get());

  auto started = std::chrono::steady_clock::now();
  KISSVDB_RETURN_IF_ERROR(ReplayLogTail());
  KISSVDB_RETURN_IF_ERROR(materializer_->LoadAuthIndex());
  KISSVDB_RETURN_IF_ERROR(OpenText());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  spdlog::info("engine: log offsets {}..{} in {} segment(s), state at offset {}, boot replay {} ms",
               log_->first_offset(), log_->next_offset() - 1, log_->segment_count(),
               log_->next_offset() - 1, ms.count());

  committer_ = std::make_unique<Committer>(*log_, *materializer_, vectors_.get(), vector_limits_, clock_, config_);
  committer_->set_memory_applied_offset(log_->next_offset() - 1);
  committer_->Start();
  background_ = std::thread([this] { BackgroundLoop(); });
  return Status::OK();
}

// See engine/open_marker.h. Runs before LMDB is opened; leaves the marker
// written for this boot.
Status EngineImpl::DiscardStateTornByPowerLoss() {
  const std::string& dir = config_.data_dir;
  const std::string boot_id = open_marker::CurrentBootId();
  auto recorded = open_marker::Read(dir);
  if (!recorded.ok()) return recorded.status();
  const fs::path lmdb = fs::path(dir) / "state.lmdb";
  if (recorded->has_value() && **recorded != boot_id && fs::exists(lmdb)) {
    const std::string why = "state.lmdb was open when the machine went down (boot id " + **recorded + ", now " +
                            boot_id + "), so commits it had not synced may be torn";
    // Without state.lmdb's applied offset (it may be torn), the last
    // checkpoint's tells whether the log still holds what was acknowledged.
    const uint64_t checkpoint = CheckpointOffset();
    if (checkpoint > log_->next_offset() - 1) {
      return Status::Corruption(why + ", and the log ends at offset " + std::to_string(log_->next_offset() - 1) +
                                " but the last checkpoint (snapshot.json) is at offset " +
                                std::to_string(checkpoint) + "; the log lost acknowledged events");
    }
    if (log_->first_offset() > 1) {
      return Status::Corruption(why + ", and the log starts at offset " + std::to_string(log_->first_offset()) +
                                " (retention), so the state cannot be rebuilt from it. Restore a backup "
                                "(kissvdb restore), or delete " + (fs::path(dir) / open_marker::kFileName).string() +
                                " to start with state.lmdb as it is");
    }
    const fs::path aside = fs::path(dir) / "state.lmdb.torn";
    std::error_code ec;
    fs::rename(lmdb, aside, ec);
    if (ec) return Status::IOError("rename " + lmdb.string() + " to " + aside.string() + ": " + ec.message());
    fs::remove(fs::path(dir) / "state.lmdb-lock", ec);
    KISSVDB_RETURN_IF_ERROR(file_util::SyncDir(dir));
    spdlog::warn("{}: moved it to {} and rebuilding the state from the log ({} events)", why, aside.string(),
                 log_->next_offset() - 1);
  }
  return open_marker::Write(dir, boot_id);
}

uint64_t EngineImpl::CheckpointOffset() const {
  auto manifest = file_util::ReadFile((fs::path(config_.data_dir) / "snapshot.json").string());
  if (!manifest.ok()) return 0;
  Json m = Json::parse(*manifest, nullptr, /*allow_exceptions=*/false);
  if (!m.is_object() || !m.contains("offset") || !m["offset"].is_number_unsigned()) return 0;
  return m["offset"].get<uint64_t>();
}

Status EngineImpl::OpenVectors(uint64_t* replay_from) {
  vector::VectorStore::Options options;
  options.quarantine_corrupt = true;  // rebuilt from the log below, if it still covers them
  const fs::path dir = fs::path(config_.data_dir) / "vectors";
  std::error_code ec;
  const bool had_dir = fs::is_directory(dir, ec);
  auto store = vector::VectorStore::Open(dir.string(), options);
  if (!store.ok()) return store.status();
  vectors_ = std::move(store.value());
  // The vector files reflect at least the offset the last checkpoint noted;
  // without a checkpoint (or after quarantining a damaged collection) every
  // vector event is replayed; events the files already hold are skipped.
  *replay_from = 1;
  auto manifest = file_util::ReadFile((fs::path(config_.data_dir) / "snapshot.json").string());
  if (manifest.ok()) {
    Json m = Json::parse(*manifest, nullptr, /*allow_exceptions=*/false);
    if (m.is_object() && m.contains("stores") && m["stores"].contains("vectors")) {
      *replay_from = m["stores"]["vectors"].value("applied_offset", uint64_t{0}) + 1;
    }
  }
  if (!had_dir && *replay_from > 1) {
    // Deleted by hand (it is a cache of the log): rebuilt from what the log
    // still holds.
    spdlog::warn("{} is missing; rebuilding the vector collections from the log (from offset {})", dir.string(),
                 log_->first_offset());
    *replay_from = 1;
  }
  std::string damaged;
  for (const auto& [name, status] : vectors_->quarantined()) {
    spdlog::error("vector collection {}: {}; rebuilding it from the log", name, status.ToString());
    damaged += (damaged.empty() ? "" : "; ") + status.message();
    *replay_from = 1;
  }
  if (*replay_from < log_->first_offset()) {
    if (!damaged.empty()) {
      return Status::Corruption("cannot rebuild vector collections from the log (it starts at offset " +
                                std::to_string(log_->first_offset()) + "): " + damaged);
    }
    *replay_from = log_->first_offset();
  }
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
  // Vector files behind the state (a crash, a rebuilt collection) make the
  // next checkpoint write them even if nothing new is applied.
  checkpoint_offset_ = vector_replay_from_ <= applied ? 0 : applied;
  const uint64_t last = log_->next_offset() - 1;
  if (applied > last) {
    return Status::Corruption("state.lmdb has applied offset " + std::to_string(applied) +
                              " but the log ends at " + std::to_string(last) +
                              "; the log lost acknowledged events (restore the log or remove state.lmdb to "
                              "rebuild from what the log holds)");
  }
  if (applied < last && applied + 1 < log_->first_offset()) {
    return Status::Corruption("state.lmdb is at offset " + std::to_string(applied) +
                              " but the oldest log segment starts at " + std::to_string(log_->first_offset()));
  }
  const uint64_t from = std::min(applied + 1, vector_replay_from_);
  if (from > last) return Status::OK();
  spdlog::info("engine: replaying offsets {}..{} (state from {}, vectors from {})", from, last, applied + 1,
               vector_replay_from_);
  auto reader = log_->NewReader(from, last);
  return replay::Run(*reader, *env_, *materializer_, replay::Range{from, last, applied, vector_replay_from_});
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
    if (st.ok()) st = env_->Sync();  // Checkpoint skips the sync when nothing moved
    // Only a synced environment may lose its open marker (engine/open_marker.h).
    if (st.ok()) st = open_marker::Remove(config_.data_dir);
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

Status EngineImpl::WriteHealth() const {
  if (!committer_) return Status::Unavailable("the engine is closed");
  return committer_->WriteHealth();
}

Result<std::string> EngineImpl::StateDigest() const {
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  auto lmdb = materializer_->Digest(*txn);
  if (!lmdb.ok()) return lmdb.status();
  auto text = text_->Digest();
  if (!text.ok()) return text.status();
  return *lmdb + ":" + *text;
}

}  // namespace kissvdb
