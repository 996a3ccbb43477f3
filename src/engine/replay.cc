#include "engine/replay.h"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/state_record.h"
#include "kissvdb/event.h"

namespace kissvdb::replay {

namespace {

// A chunk is one LMDB transaction: this many records, or this many bytes
// of them, whichever comes first.
constexpr size_t kChunkRecords = 8192;
constexpr size_t kChunkBytes = 16u << 20;
// Chunks in flight: one being read, one ready, one being applied.
constexpr size_t kChunks = 3;

// One step of a chunk: a run of KV puts (a batch) or one parsed event.
struct Step {
  static constexpr size_t kNoBatch = SIZE_MAX;
  size_t batch = kNoBatch;
  Event event;
  bool to_txn = false;     // apply to LMDB
  bool in_memory = false;  // apply to the in-memory stores
};

struct Chunk {
  std::vector<Step> steps;
  // Kept across uses for their memory; a deque, so a batch never moves (its
  // sorted entries point into its bytes).
  std::deque<StatePutBatch> batches;
  size_t batches_used = 0;
  size_t records = 0;
  size_t bytes = 0;
  uint64_t last_txn_offset = 0;  // 0: nothing for LMDB
  Status status;                 // the reader's error, after the steps
  bool end = false;

  StatePutBatch* NewBatch() {
    if (batches_used == batches.size()) batches.emplace_back();
    steps.push_back(Step{});
    steps.back().batch = batches_used;
    return &batches[batches_used++];
  }
  void Reset() {
    steps.clear();
    for (size_t i = 0; i < batches_used; ++i) batches[i].Clear();
    batches_used = 0;
    records = bytes = 0;
    last_txn_offset = 0;
    status = Status::OK();
    end = false;
  }
};

// Chunks pass from the reader to the applier and back.
class Pipe {
 public:
  Pipe() {
    for (size_t i = 0; i < kChunks; ++i) {
      owned_.push_back(std::make_unique<Chunk>());
      free_.push_back(owned_.back().get());
    }
  }
  // The reader's side: an empty chunk, or null once the applier stopped.
  Chunk* TakeFree() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return stopped_ || !free_.empty(); });
    if (stopped_) return nullptr;
    Chunk* c = free_.front();
    free_.pop_front();
    return c;
  }
  void Ship(Chunk* c) {
    {
      std::lock_guard lk(mu_);
      full_.push_back(c);
    }
    cv_.notify_all();
  }
  // The reader's failure outside the log (an exception, memory): the
  // applier gets it after the chunks shipped before.
  void Fail(Status st) {
    {
      std::lock_guard lk(mu_);
      failure_ = std::move(st);
      failed_ = true;
    }
    cv_.notify_all();
  }
  // The applier's side: the next chunk, or null when the reader failed
  // (failure() says why).
  Chunk* TakeFull() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return failed_ || !full_.empty(); });
    if (full_.empty()) return nullptr;
    Chunk* c = full_.front();
    full_.pop_front();
    return c;
  }
  void Recycle(Chunk* c) {
    c->Reset();
    {
      std::lock_guard lk(mu_);
      free_.push_back(c);
    }
    cv_.notify_all();
  }
  Status failure() {
    std::lock_guard lk(mu_);
    return failure_;
  }
  void Stop() {
    {
      std::lock_guard lk(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Chunk>> owned_;
  std::deque<Chunk*> free_;
  std::deque<Chunk*> full_;
  bool stopped_ = false;
  bool failed_ = false;
  Status failure_;
};

// The reader thread: fills chunks in offset order. Its last chunk has
// end set, with the error that stopped it, if any.
void Read(wal::LogReader& reader, const Range& range, Pipe& pipe) {
  Chunk* c = pipe.TakeFree();
  if (c == nullptr) return;
  StatePutBatch* batch = nullptr;  // the chunk's open run of puts
  auto ship = [&](bool end) -> bool {
    if (batch != nullptr) batch->Sorted();  // sorted here, off the applier's thread
    batch = nullptr;
    c->end = end;
    pipe.Ship(c);
    if (end) return false;
    c = pipe.TakeFree();
    return c != nullptr;
  };
  auto fail = [&](Status st) {
    c->status = std::move(st);
    ship(/*end=*/true);
  };
  wal::RecordView rec;
  uint64_t expected = range.from;
  while (reader.NextRecord(&rec)) {
    if (rec.offset != expected) {
      return fail(Status::Corruption("log offset " + std::to_string(rec.offset) + " where " +
                                     std::to_string(expected) + " was expected"));
    }
    ++expected;
    const bool to_txn = rec.offset > range.applied;
    // KV puts are read from the record's bytes (no JSON tree); they have
    // nothing in memory to apply. Every other record is parsed.
    StatePutRecord put;
    if (to_txn && rec.type == event_type::kStateUpdated && rec.floats.empty() &&
        ReadStatePutRecord(rec.payload, &put)) {
      if (batch == nullptr) batch = c->NewBatch();
      batch->Add(rec.offset, rec.ts_ms, put);
    } else {
      if (batch != nullptr) batch->Sorted();
      batch = nullptr;
      c->steps.emplace_back();
      Step& s = c->steps.back();
      s.to_txn = to_txn;
      s.in_memory = rec.offset >= range.vector_from;
      Status st = wal::ParseEvent(rec, &s.event);
      if (!st.ok()) {
        c->steps.pop_back();
        return fail(std::move(st));
      }
    }
    if (to_txn) c->last_txn_offset = rec.offset;
    c->bytes += rec.size;
    if ((++c->records == kChunkRecords || c->bytes >= kChunkBytes) && !ship(/*end=*/false)) return;
  }
  if (!reader.status().ok()) return fail(reader.status());
  if (expected != range.last + 1) {
    return fail(Status::Corruption("log ended at offset " + std::to_string(expected - 1) + ", expected " +
                                   std::to_string(range.last)));
  }
  ship(/*end=*/true);
}

// The calling thread: applies chunks in order, each in one transaction.
Status Apply(kv::LmdbEnv& env, Materializer& m, Pipe& pipe) {
  for (;;) {
    Chunk* c = pipe.TakeFull();
    if (c == nullptr) return pipe.failure();
    std::optional<kv::Txn> txn;
    if (c->last_txn_offset != 0) {
      auto t = kv::Txn::Begin(env, /*read_only=*/false);
      if (!t.ok()) return t.status();
      txn.emplace(std::move(t.value()));
    }
    for (Step& s : c->steps) {
      if (s.batch != Step::kNoBatch) {
        KISSVDB_RETURN_IF_ERROR(m.ApplyStatePuts(*txn, &c->batches[s.batch]));
        continue;
      }
      if (s.to_txn) KISSVDB_RETURN_IF_ERROR(m.ApplyToTxn(*txn, s.event));
      if (s.in_memory) KISSVDB_RETURN_IF_ERROR(m.ApplyInMemory(s.event));
    }
    if (!c->status.ok()) return c->status;  // this chunk's transaction is not committed
    if (txn) {
      KISSVDB_RETURN_IF_ERROR(m.SetAppliedOffset(*txn, c->last_txn_offset));
      KISSVDB_RETURN_IF_ERROR(txn->Commit());
    }
    const bool end = c->end;
    pipe.Recycle(c);
    if (end) return Status::OK();
  }
}

}  // namespace

Status Run(wal::LogReader& reader, kv::LmdbEnv& env, Materializer& materializer, const Range& range) {
  Pipe pipe;
  std::thread reading([&] {
    try {
      Read(reader, range, pipe);
    } catch (const std::exception& e) {
      pipe.Fail(Status::Internal(std::string("replay: reading the log failed: ") + e.what()));
    }
  });
  Status st = Apply(env, materializer, pipe);
  pipe.Stop();  // the reader may wait for a free chunk that will not come
  reading.join();
  return st;
}

}  // namespace kissvdb::replay
