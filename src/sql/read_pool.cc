#include "sql/read_pool.h"

#include <spdlog/spdlog.h>

#include "sql/connection.h"

namespace kissvdb::sql {

struct ReadPool::Reader {
  std::unique_ptr<Connection> conn;
  uint64_t generation = 0;  // the pool's generation when its transaction began
  std::chrono::steady_clock::time_point began;
};

namespace {

// Ends a read transaction; nothing to undo, so a failed COMMIT rolls back.
void EndTransaction(Connection& conn) {
  if (!conn.in_transaction()) return;
  if (!conn.Control("COMMIT").ok() && conn.in_transaction()) (void)conn.Control("ROLLBACK");
}

}  // namespace

ReadPool::ReadPool(std::vector<std::unique_ptr<Connection>> conns) {
  for (auto& conn : conns) {
    auto reader = std::make_unique<Reader>();
    reader->conn = std::move(conn);
    free_.push_back(std::move(reader));
  }
}

ReadPool::~ReadPool() {
  for (auto& reader : free_) EndTransaction(*reader->conn);
}

ReadPool::Lease::Lease(ReadPool* pool, std::unique_ptr<Reader> reader) : pool_(pool), reader_(std::move(reader)) {}

ReadPool::Lease::~Lease() { pool_->Release(std::move(reader_)); }

Connection& ReadPool::Lease::operator*() const { return *reader_->conn; }

std::unique_ptr<ReadPool::Lease> ReadPool::TryAcquire() {
  std::unique_ptr<Reader> reader;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) return nullptr;
    reader = std::move(free_.back());
    free_.pop_back();
  }
  Prepare(*reader);
  return std::make_unique<Lease>(this, std::move(reader));
}

ReadPool::Lease ReadPool::Acquire() {
  std::unique_ptr<Reader> reader;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !free_.empty(); });
    reader = std::move(free_.back());
    free_.pop_back();
  }
  Prepare(*reader);
  return Lease(this, std::move(reader));
}

bool ReadPool::Overtaken(const Reader& reader) const {
  return reader.generation % 2 != 0 || reader.generation != generation_.load(std::memory_order_acquire);
}

bool ReadPool::Stale(const Reader& reader) const {
  return Overtaken(reader) || std::chrono::steady_clock::now() - reader.began >= kMaxSnapshotAge;
}

void ReadPool::Prepare(Reader& reader) {
  Connection& conn = *reader.conn;
  if (conn.in_transaction()) {
    if (!Stale(reader)) return;
    EndTransaction(conn);
  }
  // The generation is read before the transaction begins, and the snapshot
  // is taken later, at the first read: it holds at least every write that
  // moved the generation up to this value.
  reader.generation = generation_.load(std::memory_order_acquire);
  reader.began = std::chrono::steady_clock::now();
  if (Status st = conn.Control("BEGIN"); !st.ok()) {
    // Then the query runs in autocommit, as it would without the pool's
    // transactions: correct, only slower.
    spdlog::warn("sql: a read connection could not begin a transaction: {}", st.ToString());
  }
}

void ReadPool::Release(std::unique_ptr<Reader> reader) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Under the lock, so that WriteEnded() either sees this reader in free_ or
    // has already moved the generation on, which this check then sees (the
    // age bound waits for the next Prepare: no clock read per query here).
    if (reader->conn->in_transaction() && Overtaken(*reader)) EndTransaction(*reader->conn);
    free_.push_back(std::move(reader));
  }
  cv_.notify_one();
}

void ReadPool::WriteBegins() { generation_.fetch_add(1, std::memory_order_acq_rel); }

void ReadPool::WriteEnded() {
  generation_.fetch_add(1, std::memory_order_acq_rel);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& reader : free_) EndTransaction(*reader->conn);
}

}  // namespace kissvdb::sql
