#include "engine/committer.h"

#include <spdlog/spdlog.h>

#include "util/metrics.h"

namespace kissvdb {

namespace {
// Upper bound on one group, so a flood of writers still gets regular
// acknowledgements and the LMDB transaction stays small.
constexpr size_t kMaxGroup = 4096;

// The original's write counters (/v1/metrics), bumped once per committed
// event; registered at zero by http::AddBuiltinRoutes.
struct WriteCounters {
  Counter& events = Metrics::Global().counter("events_total", {}, "Events committed to the log.");
  Counter& state_puts = Metrics::Global().counter("state_put_total", {}, "State puts.");
  Counter& state_deletes = Metrics::Global().counter("state_delete_total", {}, "State deletes.");
  Counter& vector_ops = Metrics::Global().counter("vector_ops_total", {}, "Vector writes.");

  void Count(const std::vector<Event>& events_committed) {
    uint64_t puts = 0, deletes = 0, vectors = 0;
    for (const Event& ev : events_committed) {
      if (ev.type == event_type::kStateUpdated) {
        ++puts;
      } else if (ev.type == event_type::kStateDeleted) {
        ++deletes;
      } else if (ev.type == event_type::kVectorAdded || ev.type == event_type::kVectorUpserted ||
                 ev.type == event_type::kVectorUpdated || ev.type == event_type::kVectorDeleted) {
        ++vectors;
      }
    }
    events.Inc(events_committed.size());
    if (puts) state_puts.Inc(puts);
    if (deletes) state_deletes.Inc(deletes);
    if (vectors) vector_ops.Inc(vectors);
  }
};

WriteCounters& Counters() {
  static WriteCounters counters;
  return counters;
}
}  // namespace

Committer::Committer(wal::Log& log, Materializer& materializer, const vector::VectorStore* vectors,
                     const vector::VectorLimits& vector_limits, Clock& clock, const Config& config)
    : log_(log),
      materializer_(materializer),
      vectors_(vectors),
      vector_validator_(vectors, vector_limits),
      clock_(clock),
      durability_(config.durability),
      sync_interval_(config.sync_interval_ms),
      disk_reserve_(config.data_dir, config.min_free_bytes),
      last_sync_(std::chrono::steady_clock::now()) {}

Committer::~Committer() { Stop(); }

void Committer::Start() { thread_ = std::thread([this] { Loop(); }); }

void Committer::Stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Committer::Submit(WriteRequest request) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(request));
      if (queue_.size() == 1) cv_.notify_one();
      return;
    }
  }
  request.done(Status::Unavailable("the server is shutting down"));
}

void Committer::RunTask(std::function<void()> task) {
  {
    std::lock_guard lk(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void Committer::AddListener(CommitListener listener) {
  std::lock_guard lk(mu_);
  listeners_.push_back(std::move(listener));
}

void Committer::Loop() {
  std::vector<WriteRequest> group;
  std::vector<std::function<void()>> tasks;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      auto ready = [&] { return !queue_.empty() || !tasks_.empty() || stopping_; };
      if (durability_ == Durability::kInterval && unsynced_) {
        cv_.wait_until(lk, last_sync_ + sync_interval_, ready);
      } else {
        cv_.wait(lk, ready);
      }
      while (!tasks_.empty()) {
        tasks.push_back(std::move(tasks_.front()));
        tasks_.pop_front();
      }
      while (!queue_.empty() && group.size() < kMaxGroup) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (group.empty() && tasks.empty() && stopping_) break;
    }
    for (auto& task : tasks) task();
    tasks.clear();
    if (!group.empty()) {
      CommitGroup(group);
      group.clear();
    }
    if (unsynced_ && std::chrono::steady_clock::now() - last_sync_ >= sync_interval_ && failed_.ok()) {
      Status st = log_.Sync();
      if (!st.ok()) {
        spdlog::critical("WAL fsync failed, refusing further writes: {}", st.ToString());
        Fail(st);
      }
      unsynced_ = false;
      last_sync_ = std::chrono::steady_clock::now();
    }
  }
  if (unsynced_ && failed_.ok()) {
    Status st = log_.Sync();
    if (!st.ok()) spdlog::error("final WAL fsync failed: {}", st.ToString());
  }
}

void Committer::Fail(Status st) {
  failed_ = st;
  std::lock_guard lk(failure_mu_);
  failure_ = std::move(st);
}

Status Committer::WriteHealth() const {
  {
    std::lock_guard lk(failure_mu_);
    if (!failure_.ok()) {
      return Status(Code::kUnavailable, "writes are disabled after a log failure (" + failure_.message() +
                                            "); restart the server to replay the log");
    }
  }
  return disk_reserve_.Measure();
}

Status Committer::MakeDurable() {
  switch (durability_) {
    case Durability::kAlways:
      return log_.Sync();
    case Durability::kInterval:
      unsynced_ = true;
      log_.MarkWritten();
      return Status::OK();
    case Durability::kNone:
      log_.MarkWritten();
      return Status::OK();
  }
  return Status::OK();
}

void Committer::CommitGroup(std::vector<WriteRequest>& group) {
  auto complete_all = [&](const std::vector<Status>& statuses) {
    vector_validator_.Reset();
    for (size_t i = 0; i < group.size(); ++i) group[i].done(statuses[i]);
  };
  std::vector<Status> statuses(group.size());
  if (!failed_.ok()) {
    Status st(Code::kUnavailable, "writes are disabled after a log failure: " + failed_.message());
    complete_all(std::vector<Status>(group.size(), st));
    return;
  }
  if (Status full = disk_reserve_.Check(); !full.ok()) {
    complete_all(std::vector<Status>(group.size(), full));
    return;
  }
  auto root = kv::Txn::Begin(materializer_.env(), /*read_only=*/false);
  if (!root.ok()) {
    complete_all(std::vector<Status>(group.size(), root.status()));
    return;
  }
  WriteContext ctx(materializer_, *root, vector_validator_, log_.next_offset(), clock_.NowMs());
  for (size_t i = 0; i < group.size(); ++i) {
    const size_t mark = ctx.events().size();
    statuses[i] = ctx.Atomically([&] { return group[i].prepare(ctx); });
    std::vector<Event>& emitted = ctx.events();
    if (group[i].atomic && emitted.size() - mark > 1) {
      for (size_t e = mark; e < emitted.size(); ++e) {
        emitted[e].tx = emitted[mark].offset;
        emitted[e].tx_more = e + 1 < emitted.size();
      }
    }
  }
  std::vector<Event>& events = ctx.events();
  if (events.empty()) {
    root->Abort();
    complete_all(statuses);
    return;
  }
  Status st = log_.Append(events);
  if (!st.ok() && log_.error().ok() && st.code() != Code::kPersistenceError) {
    // A full disk (or an event the log cannot encode), and the log cut the
    // failed write off: nothing of the group is in it, so the group fails
    // alone and the committer carries on. Other I/O errors stay fatal below.
    spdlog::error("log append of offsets {}..{} failed, group refused: {}", events.front().offset,
                  events.back().offset, st.ToString());
    root->Abort();
    if (st.code() == Code::kInsufficientStorage) {
      st = Status(st.code(), "disk full, the write was not logged: " + st.message());
    }
    for (auto& s : statuses) {
      if (s.ok()) s = st;
    }
    complete_all(statuses);
    return;
  }
  if (st.ok()) st = MakeDurable();
  if (st.ok()) st = materializer_.SetAppliedOffset(*root, events.back().offset);
  if (st.ok()) st = root->Commit();
  if (!st.ok()) {
    // The log may now hold events the state does not: only a restart (which
    // replays the log) can tell. Stop taking writes.
    spdlog::critical("commit of offsets {}..{} failed, refusing further writes: {}", events.front().offset,
                     events.back().offset, st.ToString());
    Fail(st);
    root->Abort();
    Status reply(st.code() == Code::kInsufficientStorage ? st.code() : Code::kUnavailable,
                 "write not durable: " + st.message());
    for (auto& s : statuses) {
      if (s.ok()) s = reply;
    }
    complete_all(statuses);
    return;
  }
  memory_applying_.store(events.back().offset);
  // Searches see an atomic unit's vector changes all at once or not at all.
  std::unique_lock<std::shared_mutex> unit_lock;
  for (const Event& ev : events) {
    if (ev.tx == ev.offset && vectors_ != nullptr) unit_lock = vectors_->LockUnit();
    Status applied = materializer_.ApplyInMemory(ev);
    if (!ev.tx_more && unit_lock.owns_lock()) unit_lock.unlock();
    if (!applied.ok()) {
      // Durable in the log and in LMDB, but the in-memory view broke an
      // invariant: stop writing; a restart rebuilds memory from the log.
      spdlog::critical("in-memory apply of offset {} failed, refusing further writes: {}", ev.offset,
                       applied.ToString());
      Fail(applied);
      break;
    }
  }
  if (failed_.ok()) {
    // The text index holds derived data only: if it fails, the log and
    // LMDB hold the group, and a restart catches the index up.
    Status indexed = materializer_.ApplyText(events);
    if (!indexed.ok()) {
      spdlog::critical("text index apply of offsets {}..{} failed, refusing further writes: {}",
                       events.front().offset, events.back().offset, indexed.ToString());
      Fail(indexed);
    }
  }
  if (failed_.ok()) memory_applied_.store(events.back().offset);
  batches_.fetch_add(1, std::memory_order_relaxed);
  events_.fetch_add(events.size(), std::memory_order_relaxed);
  Counters().Count(events);
  std::vector<CommitListener> listeners;
  {
    std::lock_guard lk(mu_);
    listeners = listeners_;
  }
  // Listeners (the change stream) see events as clients may: system events
  // lose their secrets. Copy only in the rare group that has one.
  bool has_system = false;
  for (const Event& ev : events) has_system |= event_type::IsSystem(ev.type);
  if (has_system) {
    std::vector<Event> redacted;
    redacted.reserve(events.size());
    for (const Event& ev : events) redacted.push_back(ForClients(ev));
    for (const auto& listener : listeners) listener(redacted);
  } else {
    for (const auto& listener : listeners) listener(events);
  }
  complete_all(statuses);
}

}  // namespace kissvdb
