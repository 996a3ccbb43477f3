// Committer: the commit thread and its queue; group commit lives here.
//
// Writers enqueue a WriteRequest and return. The commit thread takes every
// request queued so far as one group, runs each request's prepare() in its
// own nested LMDB transaction (a failed one is undone alone), appends all
// emitted events to the WAL with a single write, makes them durable with a
// single fdatasync, commits the LMDB transaction together with the new
// applied offset, then notifies listeners and completes every request.
// A request is therefore acknowledged only after its events are durable, and
// many writers share one fsync (the LevelDB DBImpl::Write idea).
//
// Failure handling (docs/durability.md):
// - Less free disk than config.min_free_bytes: the group is refused with
//   507 before anything is written (DiskReserve); writes resume by
//   themselves when space returns.
// - A failed log append (e.g. ENOSPC) that the log could cut off: nothing
//   of the group is in the log, so the group fails (507 for ENOSPC) and
//   the committer carries on.
// - A failed sync, an append the log could not cut off, or a failed LMDB
//   commit after the log write: fatal (the PostgreSQL fsync lesson: after
//   a failed fsync the page cache state is unknown; and the log may hold
//   events the state lacks). Every later write fails with `unavailable`
//   until a restart replays the log.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/disk_reserve.h"
#include "engine/materializer.h"
#include "engine/wal/log.h"
#include "engine/write_context.h"
#include "kissvdb/clock.h"
#include "kissvdb/config.h"
#include "kissvdb/engine.h"

namespace kissvdb {

struct WriteRequest {
  // Validates and emits events. Runs on the commit thread, in queue order.
  std::function<Status(WriteContext&)> prepare;
  // Called once with prepare's status, after durability (or failure).
  std::function<void(Status)> done;
  // The request's events form one atomic unit in the log (all or none of
  // them survive a crash; docs/wal-format.md). False for batches whose
  // items are independent: each event is then a unit of its own.
  bool atomic = true;
};

class Committer {
 public:
  Committer(wal::Log& log, Materializer& materializer, const vector::VectorStore* vectors,
            const vector::VectorLimits& vector_limits, Clock& clock, const Config& config);
  ~Committer();

  void Start();
  // Completes everything queued, then stops the thread.
  void Stop();

  void Submit(WriteRequest request);
  // Runs `task` on the commit thread between groups (log maintenance).
  void RunTask(std::function<void()> task);
  void AddListener(CommitListener listener);

  // OK while writes are accepted; else why not: kInsufficientStorage
  // below the disk reserve (measured now; writes resume by themselves), or
  // the fatal failure that stopped writes until a restart. Any thread.
  Status WriteHealth() const;

  uint64_t batches() const { return batches_.load(); }
  uint64_t events() const { return events_.load(); }
  // Every event up to this offset is applied to the in-memory stores and
  // the text indexes too.
  uint64_t memory_applied_offset() const { return memory_applied_.load(); }
  // The last event of the group whose in-memory apply has begun: above
  // memory_applied_offset() while a group's vector changes are visible and
  // its text index changes are not yet.
  uint64_t memory_applying_offset() const { return memory_applying_.load(); }
  void set_memory_applied_offset(uint64_t offset) {
    memory_applying_ = offset;
    memory_applied_ = offset;
  }

 private:
  void Loop();
  void CommitGroup(std::vector<WriteRequest>& group);
  // Makes appended events as durable as durability_ asks.
  Status MakeDurable();
  // Stops all later writes (see "Failure handling" above).
  void Fail(Status st);

  wal::Log& log_;
  Materializer& materializer_;
  const vector::VectorStore* vectors_;        // null in tests without vectors
  vector::VectorValidator vector_validator_;  // commit thread only
  Clock& clock_;
  const Durability durability_;
  const std::chrono::milliseconds sync_interval_;
  DiskReserve disk_reserve_;  // Check(): commit thread only; Measure(): any

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WriteRequest> queue_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;

  std::vector<CommitListener> listeners_;  // guarded by mu_ for add, read on thread
  Status failed_;                          // set once; commit thread only
  mutable std::mutex failure_mu_;
  Status failure_;  // failed_'s copy for other threads; guarded by failure_mu_
  bool unsynced_ = false;                  // kInterval: written, not yet synced
  std::chrono::steady_clock::time_point last_sync_;
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> memory_applied_{0};
  std::atomic<uint64_t> memory_applying_{0};
};

}  // namespace kissvdb
