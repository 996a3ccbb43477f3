// ReadPool: the read-only connections that answer /v1/sql/query, and the
// read transactions they keep open between queries.
//
// Starting a read transaction is most of what a point SELECT costs SQLite:
// a shared lock on the file (fcntl), an fstat, the WAL-index header and read
// mark under the shared-memory mutex every connection of the process
// contends for. A reader therefore keeps its transaction, and with it its
// snapshot, open after a query, and the next query on it runs in the same
// snapshot, as long as that snapshot is still the newest one:
//
//   - The daemon is the database's only writer, and SqlDatabase calls
//     WriteBegins() before each write and WriteEnded() after it (before the
//     write is acknowledged). Each moves the pool's write generation on, so
//     it is odd while a write may be committing, seqlock-style. A reader
//     keeps its snapshot only while the generation is the even one it read
//     before the snapshot was taken: no write began since, and none was
//     under way then. So a query sees every write acknowledged before it
//     began, and never less than an earlier query saw (a snapshot taken
//     while a commit was under way, which may or may not hold it, is used
//     once).
//   - WriteEnded() also ends the transactions of the readers idle in the pool,
//     and a reader coming back stale ends its own (both under the pool's
//     lock, so none is missed): an old snapshot would keep the WAL from
//     being checkpointed and restarted, and the WAL would grow.
//   - A snapshot is reused for at most kMaxSnapshotAge, so a write by another
//     process (not supported, but not forbidden by SQLite) is seen within
//     that time.
//
// Acquire() blocks until a connection is free, so at most as many queries
// run at once as there are connections; TryAcquire() never waits.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace kissvdb::sql {

class Connection;

class ReadPool {
 public:
  static constexpr std::chrono::milliseconds kMaxSnapshotAge{1000};

  explicit ReadPool(std::vector<std::unique_ptr<Connection>> conns);
  ~ReadPool();  // ends every reader's transaction
  ReadPool(const ReadPool&) = delete;
  ReadPool& operator=(const ReadPool&) = delete;

  struct Reader;

  // A connection checked out of the pool, in a read transaction whose
  // snapshot is taken at its first read, or the one it kept, if that is
  // still the newest.
  class Lease {
   public:
    Lease(ReadPool* pool, std::unique_ptr<Reader> reader);
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    Connection& operator*() const;

   private:
    ReadPool* pool_;
    std::unique_ptr<Reader> reader_;
  };

  // A free connection now, or null: never waits.
  std::unique_ptr<Lease> TryAcquire();
  Lease Acquire();

  // Around every write to the database (any thread; one write at a time).
  void WriteBegins();
  void WriteEnded();

 private:
  // Ends a stale transaction and begins the next (outside the lock).
  void Prepare(Reader& reader);
  void Release(std::unique_ptr<Reader> reader);
  // Whether a write began since the reader's transaction did (or was under
  // way then). Stale() adds the age bound.
  bool Overtaken(const Reader& reader) const;
  bool Stale(const Reader& reader) const;  // REQUIRES: in a transaction

  std::atomic<uint64_t> generation_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Reader>> free_;  // guarded by mu_
};

}  // namespace kissvdb::sql
