// WriteContext: what a mutation sees on the commit thread.
//
// A mutation validates against the current state (reading through txn(),
// which includes every change emitted earlier in the same group) and emits
// the events that make its change. Emit() applies the event to the LMDB
// write transaction immediately, so later mutations in the group see it.
// Atomically() makes a nested transaction: if the function fails, every
// change and event it made is undone.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/materializer.h"
#include "kissvdb/event.h"
#include "kissvdb/status.h"
#include "kv/lmdb.h"
#include "vector/validator.h"

namespace kissvdb {

class WriteContext {
 public:
  WriteContext(Materializer& materializer, kv::Txn& root, vector::VectorValidator& vectors, uint64_t first_offset,
               uint64_t now_ms)
      : materializer_(materializer), txn_(&root), vectors_(vectors), first_offset_(first_offset), now_ms_(now_ms) {}

  uint64_t now_ms() const { return now_ms_; }
  // The offset the next emitted event will get.
  uint64_t next_offset() const { return first_offset_ + events_.size(); }
  // The newest offset in the log as this mutation sees it.
  uint64_t last_offset() const { return next_offset() - 1; }

  kv::Txn& txn() { return *txn_; }
  const Materializer& stores() const { return materializer_; }
  // Vector changes are applied in memory only after the group is durable,
  // so their validation sees earlier changes of the group through this
  // validator's overlay (rolled back with the nested transaction).
  vector::VectorValidator& vectors() { return vectors_; }

  // Assigns the next offset, applies the event to the transaction, and
  // queues it for the log. A failure leaves the transaction in an unknown
  // state: callers inside Atomically() just return it. `floats` is a
  // vector record's vector (Event::floats).
  Status Emit(std::string type, Json data, std::vector<float> floats = {}) {
    Event ev;
    ev.offset = next_offset();
    ev.ts_ms = now_ms_;
    ev.type = std::move(type);
    ev.data = std::move(data);
    ev.floats = std::move(floats);
    KISSVDB_RETURN_IF_ERROR(materializer_.ApplyToTxn(*txn_, ev));
    events_.push_back(std::move(ev));
    return Status::OK();
  }

  // Runs fn all-or-nothing in a nested transaction.
  Status Atomically(const std::function<Status()>& fn) {
    auto child = kv::Txn::Begin(materializer_.env(), /*read_only=*/false, txn_);
    if (!child.ok()) return child.status();
    kv::Txn* parent = txn_;
    size_t mark = events_.size();
    size_t vector_mark = vectors_.Mark();
    txn_ = &*child;
    Status st;
    try {
      st = fn();
    } catch (const std::exception& e) {
      st = Status::Internal(std::string("mutation threw: ") + e.what());
    }
    txn_ = parent;
    if (st.ok()) st = child->Commit();
    if (!st.ok()) {
      child->Abort();
      events_.resize(mark);
      vectors_.RollbackTo(vector_mark);
    }
    return st;
  }

  std::vector<Event>& events() { return events_; }

 private:
  Materializer& materializer_;
  kv::Txn* txn_;
  vector::VectorValidator& vectors_;
  uint64_t first_offset_;
  uint64_t now_ms_;
  std::vector<Event> events_;
};

}  // namespace kissvdb
