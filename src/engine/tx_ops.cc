#include "engine/tx_ops.h"

#include <string>

#include "engine/doc_ops.h"
#include "engine/event_ops.h"
#include "engine/state_ops.h"
#include "engine/vector_ops.h"
#include "util/utf8.h"

namespace kissvdb::tx_ops {

namespace {

constexpr size_t kMaxIdempotencyKey = 256;

const char* OpName(TxOp::Kind kind) {
  switch (kind) {
    case TxOp::Kind::kStatePut: return "state_put";
    case TxOp::Kind::kStateDelete: return "state_delete";
    case TxOp::Kind::kDocPut: return "doc_put";
    case TxOp::Kind::kDocPatch: return "doc_patch";
    case TxOp::Kind::kDocDelete: return "doc_delete";
    case TxOp::Kind::kVectorUpsert: return "vector_upsert";
    case TxOp::Kind::kVectorDelete: return "vector_delete";
    case TxOp::Kind::kEventAppend: return "event_append";
  }
  return "?";
}

Status Named(const Status& st, const char* list, size_t i, const char* what) {
  return Status(st.code(), std::string(list) + "[" + std::to_string(i) + "] (" + what + "): " + st.message());
}

StatePut AsStatePut(const TxOp& op) { return StatePut{op.key, op.value, op.ttl_ms, op.if_revision}; }

DocPut AsDocPut(const TxOp& op) { return DocPut{op.collection, op.id, op.doc, op.if_revision}; }

DocPatch AsDocPatch(const TxOp& op) { return DocPatch{op.collection, op.id, op.doc, op.if_revision, op.upsert}; }

Status ValidateOp(const TxOp& op, const Limits& limits) {
  switch (op.kind) {
    case TxOp::Kind::kStatePut:
      return state_ops::ValidatePut(AsStatePut(op), limits);
    case TxOp::Kind::kStateDelete:
      return state_ops::ValidateKey(op.key, limits);
    case TxOp::Kind::kDocPut: {
      std::string json;
      return doc_ops::ValidatePut(AsDocPut(op), limits, &json);
    }
    case TxOp::Kind::kDocPatch:
      return doc_ops::ValidatePatch(AsDocPatch(op), limits);
    case TxOp::Kind::kDocDelete:
      return doc_ops::ValidateDocId(op.collection, op.id, limits);
    case TxOp::Kind::kVectorUpsert:
    case TxOp::Kind::kVectorDelete: {
      KISSVDB_RETURN_IF_ERROR(vector_ops::ValidateCollectionName(op.collection, limits));
      const size_t n = op.kind == TxOp::Kind::kVectorUpsert ? op.vectors.size() : op.ids.size();
      if (n == 0) return Status::InvalidArgument("items must not be empty");
      for (size_t i = 0; i < n; ++i) {
        const std::string& id = op.kind == TxOp::Kind::kVectorUpsert ? op.vectors[i].id : op.ids[i];
        Status st = vector_ops::ValidateIdLength(id, limits);
        if (!st.ok()) return Status(st.code(), "item " + std::to_string(i) + ": " + st.message());
      }
      return Status::OK();
    }
    case TxOp::Kind::kEventAppend:
      return event_ops::ValidateType(op.event_type);
  }
  return Status::InvalidArgument("unknown op");
}

size_t OpWeight(const TxOp& op) {
  if (op.kind == TxOp::Kind::kVectorUpsert) return op.vectors.size();
  if (op.kind == TxOp::Kind::kVectorDelete) return op.ids.size();
  return 1;
}

Status ValidateOps(const std::vector<TxOp>& ops, const char* list, const Limits& limits, size_t* weight) {
  if (ops.empty()) return Status::InvalidArgument(std::string(list) + " must not be empty");
  for (size_t i = 0; i < ops.size(); ++i) {
    Status st = ValidateOp(ops[i], limits);
    if (!st.ok()) return Named(st, list, i, OpName(ops[i].kind));
    *weight += OpWeight(ops[i]);
  }
  return Status::OK();
}

const char* CheckName(TxCheck::Kind kind) {
  switch (kind) {
    case TxCheck::Kind::kState: return "state";
    case TxCheck::Kind::kDoc: return "doc";
    case TxCheck::Kind::kVector: return "vector";
    case TxCheck::Kind::kLog: return "log";
  }
  return "?";
}

// Evaluates one check; *holds and *current (what it found).
Status Evaluate(WriteContext& ctx, const TxCheck& check, bool* holds, Json* current) {
  switch (check.kind) {
    case TxCheck::Kind::kState: {
      auto rec = ctx.stores().state().Get(ctx.txn(), check.key);
      if (!rec.ok()) return rec.status();
      // A key past its TTL is absent, as every read sees it.
      const bool live = rec->has_value() && !(*rec)->ExpiredAt(ctx.now_ms());
      const uint64_t revision = live ? (*rec)->revision : 0;
      *holds = revision == check.revision;
      *current = Json{{"revision", revision},
                      {"value", live ? Json::parse((*rec)->value_json, nullptr, false) : Json(nullptr)}};
      return Status::OK();
    }
    case TxCheck::Kind::kDoc: {
      auto rec = ctx.stores().docs().Get(ctx.txn(), check.collection, check.key);
      if (!rec.ok()) return rec.status();
      const uint64_t revision = rec->has_value() ? (*rec)->revision : 0;
      *holds = revision == check.revision;
      *current = Json{{"revision", revision},
                      {"doc", rec->has_value() ? Json::parse((*rec)->json, nullptr, false) : Json(nullptr)}};
      return Status::OK();
    }
    case TxCheck::Kind::kVector: {
      const bool exists = ctx.vectors().Contains(check.collection, check.key);
      *holds = exists == check.exists;
      *current = Json{{"exists", exists}};
      return Status::OK();
    }
    case TxCheck::Kind::kLog:
      *holds = ctx.last_offset() <= check.last_offset;
      *current = Json{{"last_offset", ctx.last_offset()}};
      return Status::OK();
  }
  return Status::InvalidArgument("unknown check");
}

// Runs one op; *result gets its answer (without "offsets").
Status RunOp(WriteContext& ctx, const TxOp& op, const Limits& limits, Json* result) {
  Json& r = *result;
  r = Json{{"op", OpName(op.kind)}};
  switch (op.kind) {
    case TxOp::Kind::kStatePut: {
      StatePutResult put;
      KISSVDB_RETURN_IF_ERROR(state_ops::Put(ctx, AsStatePut(op), &put));
      r["key"] = put.key;
      r["revision"] = put.revision;
      r["expires_at_ms"] = put.expires_at_ms ? Json(put.expires_at_ms) : Json(nullptr);
      return Status::OK();
    }
    case TxOp::Kind::kStateDelete: {
      if (op.if_revision) {
        auto rec = ctx.stores().state().Get(ctx.txn(), op.key);
        if (!rec.ok()) return rec.status();
        const bool live = rec->has_value() && !(*rec)->ExpiredAt(ctx.now_ms());
        const uint64_t revision = live ? (*rec)->revision : 0;
        if (revision != *op.if_revision) {
          return Status(Code::kRevisionMismatch, "if_revision " + std::to_string(*op.if_revision) +
                                                     " does not match: current revision is " +
                                                     std::to_string(revision));
        }
      }
      bool deleted = false;
      KISSVDB_RETURN_IF_ERROR(state_ops::Delete(ctx, op.key, &deleted));
      r["key"] = op.key;
      r["deleted"] = deleted;
      return Status::OK();
    }
    case TxOp::Kind::kDocPut: {
      DocPut put = AsDocPut(op);
      std::string json;
      KISSVDB_RETURN_IF_ERROR(doc_ops::ValidatePut(put, limits, &json));
      DocItem item;
      KISSVDB_RETURN_IF_ERROR(doc_ops::Put(ctx, put, std::move(json), limits, &item));
      r["collection"] = op.collection;
      r["id"] = item.id;
      r["revision"] = item.revision;
      return Status::OK();
    }
    case TxOp::Kind::kDocPatch: {
      DocItem item;
      KISSVDB_RETURN_IF_ERROR(doc_ops::Patch(ctx, AsDocPatch(op), limits, &item));
      r["collection"] = op.collection;
      r["id"] = item.id;
      r["revision"] = item.revision;
      return Status::OK();
    }
    case TxOp::Kind::kDocDelete: {
      bool deleted = false;
      KISSVDB_RETURN_IF_ERROR(doc_ops::Delete(ctx, op.collection, op.id, op.if_revision, &deleted));
      r["collection"] = op.collection;
      r["id"] = op.id;
      r["deleted"] = deleted;
      return Status::OK();
    }
    case TxOp::Kind::kVectorUpsert: {
      if (!ctx.vectors().Describe(op.collection)) {
        return Status::NotFound("vector collection \"" + op.collection + "\" not found");
      }
      for (size_t i = 0; i < op.vectors.size(); ++i) {
        const TxOp::Vector& v = op.vectors[i];
        VectorWrite write{v.id, v.vector, v.meta};
        Status st = vector_ops::Write(ctx, op.collection, VectorWriteKind::kUpsert, write, limits);
        if (!st.ok()) return Status(st.code(), "item " + std::to_string(i) + ": " + st.message());
      }
      r["collection"] = op.collection;
      r["upserted"] = op.vectors.size();
      return Status::OK();
    }
    case TxOp::Kind::kVectorDelete: {
      if (!ctx.vectors().Describe(op.collection)) {
        return Status::NotFound("vector collection \"" + op.collection + "\" not found");
      }
      uint64_t deleted = 0;
      for (const std::string& id : op.ids) {
        if (!ctx.vectors().Contains(op.collection, id)) continue;  // absent: nothing to delete
        KISSVDB_RETURN_IF_ERROR(vector_ops::Delete(ctx, op.collection, id));
        ++deleted;
      }
      r["collection"] = op.collection;
      r["deleted"] = deleted;
      return Status::OK();
    }
    case TxOp::Kind::kEventAppend:
      KISSVDB_RETURN_IF_ERROR(ctx.Emit(op.event_type, op.event_data));
      r["type"] = op.event_type;
      return Status::OK();
  }
  return Status::InvalidArgument("unknown op");
}

}  // namespace

Status Validate(const TxRequest& tx, const Limits& limits) {
  if (tx.idempotency_key.size() > kMaxIdempotencyKey || !utf8::IsValid(tx.idempotency_key)) {
    return Status::InvalidArgument("idempotency_key must be at most " + std::to_string(kMaxIdempotencyKey) +
                                   " bytes of UTF-8");
  }
  for (size_t i = 0; i < tx.checks.size(); ++i) {
    const TxCheck& c = tx.checks[i];
    Status st;
    if (c.kind == TxCheck::Kind::kState) st = state_ops::ValidateKey(c.key, limits);
    if (c.kind == TxCheck::Kind::kDoc) st = doc_ops::ValidateDocId(c.collection, c.key, limits);
    if (c.kind == TxCheck::Kind::kVector) {
      st = vector_ops::ValidateCollectionName(c.collection, limits);
      if (st.ok()) st = vector_ops::ValidateIdLength(c.key, limits);
    }
    if (!st.ok()) return Named(st, "checks", i, CheckName(c.kind));
  }
  size_t weight = 0;
  KISSVDB_RETURN_IF_ERROR(ValidateOps(tx.ops, "ops", limits, &weight));
  if (tx.on_failure) {
    if (tx.checks.empty()) return Status::InvalidArgument("on_failure needs checks");
    size_t failure_weight = 0;
    KISSVDB_RETURN_IF_ERROR(ValidateOps(*tx.on_failure, "on_failure", limits, &failure_weight));
    weight = std::max(weight, failure_weight);
  }
  if (tx.checks.size() + weight > limits.max_tx_ops) {
    return Status::InvalidArgument("a transaction holds at most " + std::to_string(limits.max_tx_ops) +
                                   " checks and ops (each vector item counts; limits.max_tx_ops)");
  }
  return Status::OK();
}

Status Run(WriteContext& ctx, const TxRequest& tx, const Limits& limits, TxOutcome* out) {
  *out = TxOutcome{};
  const kv::TxKeyStore& keys = ctx.stores().tx_keys();
  const uint64_t window = ctx.stores().tx_window_ms();
  if (!tx.idempotency_key.empty()) {
    auto known = keys.Get(ctx.txn(), tx.idempotency_key, ctx.now_ms(), window);
    if (!known.ok()) return known.status();
    if (known->has_value()) {
      if ((*known)->fingerprint != tx.fingerprint) {
        return Status(Code::kConflict, "idempotency_key \"" + tx.idempotency_key +
                                           "\" was used for a different transaction");
      }
      out->committed = true;
      out->replayed = true;
      out->result = std::move((*known)->result);
      return Status::OK();
    }
  }

  for (size_t i = 0; i < tx.checks.size() && !out->failed; ++i) {
    bool holds = false;
    Json current;
    KISSVDB_RETURN_IF_ERROR(Evaluate(ctx, tx.checks[i], &holds, &current));
    if (!holds) out->failed = TxCheckFailure{i, std::move(current)};
  }
  if (out->failed && !tx.on_failure) return Status::OK();  // nothing applies

  const std::vector<TxOp>& ops = out->failed ? *tx.on_failure : tx.ops;
  const char* list = out->failed ? "on_failure" : "ops";
  const uint64_t first = ctx.next_offset();
  Json results = Json::array();
  for (size_t i = 0; i < ops.size(); ++i) {
    const uint64_t before = ctx.next_offset();
    Json r;
    Status st = RunOp(ctx, ops[i], limits, &r);
    if (!st.ok()) return Named(st, list, i, OpName(ops[i].kind));
    Json offsets = Json::array();
    for (uint64_t o = before; o < ctx.next_offset(); ++o) offsets.push_back(o);
    r["offsets"] = std::move(offsets);
    results.push_back(std::move(r));
  }
  Json& result = out->result;
  result = Json::object();
  result["succeeded"] = !out->failed;
  result["branch"] = list;
  result["results"] = std::move(results);
  if (out->failed) {
    result["failed_check"] = Json{{"index", out->failed->index}, {"current", out->failed->current}};
  }
  // The marker (when there is a key) is the unit's last event.
  const uint64_t last = ctx.next_offset() - (tx.idempotency_key.empty() ? 1 : 0);
  if (last >= first) {
    result["offset_first"] = first;
    result["offset_last"] = last;
  } else {
    result["offset_first"] = nullptr;
    result["offset_last"] = nullptr;
  }
  // The transaction's id: its first event's offset (what stream events of
  // a unit of several carry as "tx").
  result["tx"] = last >= first ? Json(first) : Json(nullptr);
  if (!tx.idempotency_key.empty()) {
    result["idempotency_key"] = tx.idempotency_key;
    KISSVDB_RETURN_IF_ERROR(ctx.Emit(event_type::kTxCommitted, Json{{"idempotency_key", tx.idempotency_key},
                                                                      {"fingerprint", tx.fingerprint},
                                                                      {"result", result}}));
  }
  out->committed = true;
  return Status::OK();
}

}  // namespace kissvdb::tx_ops
