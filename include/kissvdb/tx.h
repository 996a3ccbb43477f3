// Transactions: one atomic, conditional write across every model
// (docs/transactions.md). Value types only; the engine runs them.
//
// A transaction is checked and applied on the commit thread as one write
// request: its checks see the state every earlier write left, its ops see
// the changes of the ops before them, and its events are one atomic unit in
// the log (contiguous offsets; a crash keeps all of them or none).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kissvdb/event.h"

namespace kissvdb {

struct TxCheck {
  enum class Kind { kState, kDoc, kVector, kLog };
  Kind kind = Kind::kState;
  std::string collection;    // kDoc, kVector
  std::string key;           // kState: the key; kDoc, kVector: the id
  uint64_t revision = 0;     // kState, kDoc: the revision required, 0 = absent
  bool exists = false;       // kVector
  uint64_t last_offset = 0;  // kLog: the log has not moved past it
};

struct TxOp {
  enum class Kind { kStatePut, kStateDelete, kDocPut, kDocPatch, kDocDelete, kVectorUpsert, kVectorDelete, kEventAppend };
  Kind kind = Kind::kStatePut;
  // kStatePut: key, value, ttl_ms, if_revision; kStateDelete: key, if_revision.
  std::string key;
  Json value;
  std::optional<uint64_t> ttl_ms;
  std::optional<uint64_t> if_revision;  // also kDocPut, kDocPatch, kDocDelete
  // Documents and vectors.
  std::string collection;
  std::string id;  // kDocPut, kDocPatch, kDocDelete
  Json doc;        // kDocPut: the document; kDocPatch: the merge patch
  bool upsert = false;  // kDocPatch: a missing document is created
  struct Vector {
    std::string id;
    std::vector<float> vector;
    Json meta;
  };
  std::vector<Vector> vectors;   // kVectorUpsert
  std::vector<std::string> ids;  // kVectorDelete
  // kEventAppend: type and data.
  std::string event_type;
  Json event_data;
};

struct TxRequest {
  std::vector<TxCheck> checks;
  std::vector<TxOp> ops;
  std::optional<std::vector<TxOp>> on_failure;  // run instead of ops when a check fails
  std::string idempotency_key;                  // empty = none
  std::string fingerprint;  // of the request, to tell a retry from a reuse of the key
};

// A failed check: the first one that did not hold and what it found.
struct TxCheckFailure {
  size_t index = 0;
  Json current;  // {revision, value | doc} / {exists} / {last_offset}
};

// What a transaction did.
struct TxOutcome {
  // False when a check failed and there was no on_failure: nothing applied.
  bool committed = false;
  std::optional<TxCheckFailure> failed;
  // When committed, the answer's body (docs/openapi.yaml, TxResult): the
  // branch taken, each op's result, the offsets. For a retry with a known
  // idempotency key, the stored body of the first commit.
  Json result;
  bool replayed = false;  // the result of an earlier commit with the same idempotency key
};

}  // namespace kissvdb
