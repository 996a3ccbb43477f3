// POST /v1/tx: one atomic, conditional write across every model
// (docs/transactions.md). Parses the body into a TxRequest; the engine
// validates and runs it.
#include <algorithm>
#include <string>

#include "api/api.h"
#include "api/json_args.h"
#include "util/digest.h"

namespace kissvdb::api {

namespace {

Status Bad(const std::string& where, const std::string& what) {
  return Status::InvalidArgument(where + ": " + what);
}

// A [collection, id] pair.
Status CollectionAndId(const Json& v, const std::string& where, std::string* collection, std::string* id) {
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_string()) {
    return Bad(where, "must be [collection, id]");
  }
  *collection = v[0].get<std::string>();
  *id = v[1].get<std::string>();
  return Status::OK();
}

Result<uint64_t> U64(const Json& obj, const char* field, const std::string& where) {
  auto it = obj.find(field);
  if (it == obj.end() || !it->is_number_unsigned()) return Bad(where, std::string(field) + " must be an unsigned integer");
  return it->get<uint64_t>();
}

Result<TxCheck> ParseCheck(const Json& c, const std::string& where) {
  if (!c.is_object()) return Bad(where, "a check must be an object");
  TxCheck check;
  if (auto it = c.find("state"); it != c.end()) {
    if (!it->is_string()) return Bad(where, "state must be a key (string)");
    check.kind = TxCheck::Kind::kState;
    check.key = it->get<std::string>();
  } else if (auto it = c.find("doc"); it != c.end()) {
    check.kind = TxCheck::Kind::kDoc;
    KISSVDB_RETURN_IF_ERROR(CollectionAndId(*it, where + ".doc", &check.collection, &check.key));
  } else if (auto it = c.find("vector"); it != c.end()) {
    check.kind = TxCheck::Kind::kVector;
    KISSVDB_RETURN_IF_ERROR(CollectionAndId(*it, where + ".vector", &check.collection, &check.key));
    auto exists = c.find("exists");
    if (exists == c.end() || !exists->is_boolean()) return Bad(where, "exists must be true or false");
    check.exists = exists->get<bool>();
    return check;
  } else if (auto it = c.find("log"); it != c.end()) {
    check.kind = TxCheck::Kind::kLog;
    if (!it->is_object()) return Bad(where, "log must be {\"last_offset\": n}");
    auto n = U64(*it, "last_offset", where + ".log");
    if (!n.ok()) return n.status();
    check.last_offset = *n;
    return check;
  } else {
    return Bad(where, "a check names one of state, doc, vector or log");
  }
  auto revision = U64(c, "revision", where);
  if (!revision.ok()) return revision.status();
  check.revision = *revision;
  return check;
}

Result<std::optional<uint64_t>> OptU64(const Json& obj, const char* field, const std::string& where) {
  auto r = OptionalU64(obj, field);
  if (!r.ok()) return Bad(where, r.status().message());
  return r;
}

Result<std::string> Str(const Json& obj, const char* field, const std::string& where) {
  auto it = obj.find(field);
  if (it == obj.end() || !it->is_string()) return Bad(where, std::string(field) + " must be a string");
  return it->get<std::string>();
}

Status SizeOk(const Json& v, const Limits& limits, size_t hint, const std::string& where, const char* what) {
  Status st = CheckJsonSize(v, limits.max_json_bytes, hint, what);
  return st.ok() ? st : Status(st.code(), where + ": " + st.message());
}

Status ParseVectorItem(const Json& item, const Limits& limits, size_t hint, const std::string& where,
                       TxOp::Vector* out) {
  if (!item.is_object()) return Bad(where, "each item must be an object");
  auto id = Str(item, "id", where);
  if (!id.ok()) return id.status();
  out->id = std::move(*id);
  auto v = item.find("vector");
  if (v == item.end() || !v->is_array()) return Bad(where, "vector must be an array of numbers");
  out->vector.reserve(v->size());
  for (const Json& x : *v) {
    if (!x.is_number()) return Bad(where, "vector must be an array of numbers");
    out->vector.push_back(x.get<float>());
  }
  auto meta = item.find("meta");
  if (meta != item.end()) {
    KISSVDB_RETURN_IF_ERROR(SizeOk(*meta, limits, hint, where, "meta"));
    out->meta = *meta;
  }
  return Status::OK();
}

Result<TxOp> ParseOp(const Json& o, const Limits& limits, size_t hint, const std::string& where) {
  if (!o.is_object() || o.size() != 1) return Bad(where, "an op is an object with exactly one member, its kind");
  const std::string& kind = o.begin().key();
  const Json& a = o.begin().value();
  const std::string at = where + "." + kind;
  if (!a.is_object()) return Bad(at, "must be an object");
  TxOp op;
  auto if_revision = OptU64(a, "if_revision", at);
  if (!if_revision.ok()) return if_revision.status();
  op.if_revision = *if_revision;
  if (kind == "state_put" || kind == "state_delete") {
    op.kind = kind == "state_put" ? TxOp::Kind::kStatePut : TxOp::Kind::kStateDelete;
    auto key = Str(a, "key", at);
    if (!key.ok()) return key.status();
    op.key = std::move(*key);
    if (op.kind == TxOp::Kind::kStatePut) {
      auto value = a.find("value");
      if (value == a.end()) return Bad(at, "value is required");
      KISSVDB_RETURN_IF_ERROR(SizeOk(*value, limits, hint, at, "value"));
      op.value = *value;
      auto ttl = OptU64(a, "ttl_ms", at);
      if (!ttl.ok()) return ttl.status();
      op.ttl_ms = *ttl;
    }
    return op;
  }
  if (kind == "doc_put" || kind == "doc_patch" || kind == "doc_delete") {
    op.kind = kind == "doc_put" ? TxOp::Kind::kDocPut : kind == "doc_patch" ? TxOp::Kind::kDocPatch : TxOp::Kind::kDocDelete;
    auto collection = Str(a, "collection", at);
    if (!collection.ok()) return collection.status();
    auto id = Str(a, "id", at);
    if (!id.ok()) return id.status();
    op.collection = std::move(*collection);
    op.id = std::move(*id);
    if (op.kind != TxOp::Kind::kDocDelete) {
      const char* field = op.kind == TxOp::Kind::kDocPut ? "doc" : "patch";
      auto doc = a.find(field);
      if (doc == a.end() || !doc->is_object()) return Bad(at, std::string(field) + " must be a JSON object");
      op.doc = *doc;
      if (op.kind == TxOp::Kind::kDocPatch) {
        auto upsert = OptionalBool(a, "upsert");
        if (!upsert.ok()) return Bad(at, upsert.status().message());
        op.upsert = upsert->value_or(false);
      }
    }
    return op;
  }
  if (kind == "vector_upsert" || kind == "vector_delete") {
    op.kind = kind == "vector_upsert" ? TxOp::Kind::kVectorUpsert : TxOp::Kind::kVectorDelete;
    auto collection = Str(a, "collection", at);
    if (!collection.ok()) return collection.status();
    op.collection = std::move(*collection);
    if (op.kind == TxOp::Kind::kVectorUpsert) {
      // "items": [...], or one item's fields ({id, vector, meta}) inline.
      auto items = a.find("items");
      if (items != a.end()) {
        if (!items->is_array()) return Bad(at, "items must be an array");
        op.vectors.resize(items->size());
        for (size_t i = 0; i < items->size(); ++i) {
          KISSVDB_RETURN_IF_ERROR(
              ParseVectorItem((*items)[i], limits, hint, at + ".items[" + std::to_string(i) + "]", &op.vectors[i]));
        }
      } else {
        op.vectors.resize(1);
        KISSVDB_RETURN_IF_ERROR(ParseVectorItem(a, limits, hint, at, &op.vectors[0]));
      }
    } else {
      auto ids = a.find("ids");
      auto id = a.find("id");
      if (ids != a.end()) {
        if (!ids->is_array()) return Bad(at, "ids must be an array of strings");
        for (const Json& x : *ids) {
          if (!x.is_string()) return Bad(at, "ids must be an array of strings");
          op.ids.push_back(x.get<std::string>());
        }
      } else if (id != a.end() && id->is_string()) {
        op.ids.push_back(id->get<std::string>());
      } else {
        return Bad(at, "ids (array) or id (string) is required");
      }
    }
    return op;
  }
  if (kind == "event_append") {
    op.kind = TxOp::Kind::kEventAppend;
    auto type = Str(a, "type", at);
    if (!type.ok()) return type.status();
    op.event_type = std::move(*type);
    op.event_data = a.contains("data") ? a["data"] : Json::object();
    KISSVDB_RETURN_IF_ERROR(SizeOk(op.event_data, limits, hint, at, "data"));
    return op;
  }
  return Bad(where, "unknown op \"" + kind +
                        "\" (state_put, state_delete, doc_put, doc_patch, doc_delete, vector_upsert, "
                        "vector_delete, event_append)");
}

Result<std::vector<TxOp>> ParseOps(const Json& list, const char* name, const Limits& limits, size_t hint) {
  if (!list.is_array()) return Status::InvalidArgument(std::string(name) + " must be an array");
  // Bounded before parsing each op: a hostile list is refused early.
  if (list.size() > limits.max_tx_ops) {
    return Status::InvalidArgument(std::string(name) + " holds " + std::to_string(list.size()) +
                                   " ops; a transaction holds at most " + std::to_string(limits.max_tx_ops) +
                                   " (limits.max_tx_ops)");
  }
  std::vector<TxOp> ops;
  ops.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    auto op = ParseOp(list[i], limits, hint, std::string(name) + "[" + std::to_string(i) + "]");
    if (!op.ok()) return op.status();
    ops.push_back(std::move(*op));
  }
  return ops;
}

Result<TxRequest> ParseTx(const Json& body, const Limits& limits, size_t hint) {
  static const char* kFields[] = {"checks", "ops", "on_failure", "idempotency_key"};
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& name = it.key();
    if (std::find_if(std::begin(kFields), std::end(kFields), [&name](const char* f) { return name == f; }) ==
        std::end(kFields)) {
      return Status::InvalidArgument("unknown field \"" + name + "\" (checks, ops, on_failure, idempotency_key)");
    }
  }
  TxRequest tx;
  if (auto it = body.find("checks"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return Status::InvalidArgument("checks must be an array");
    if (it->size() > limits.max_tx_ops) {
      return Status::InvalidArgument("at most " + std::to_string(limits.max_tx_ops) + " checks (limits.max_tx_ops)");
    }
    for (size_t i = 0; i < it->size(); ++i) {
      auto check = ParseCheck((*it)[i], "checks[" + std::to_string(i) + "]");
      if (!check.ok()) return check.status();
      tx.checks.push_back(std::move(*check));
    }
  }
  auto ops = body.find("ops");
  if (ops == body.end()) return Status::InvalidArgument("ops is required");
  auto parsed = ParseOps(*ops, "ops", limits, hint);
  if (!parsed.ok()) return parsed.status();
  tx.ops = std::move(*parsed);
  if (auto it = body.find("on_failure"); it != body.end() && !it->is_null()) {
    auto failure = ParseOps(*it, "on_failure", limits, hint);
    if (!failure.ok()) return failure.status();
    tx.on_failure = std::move(*failure);
  }
  if (auto it = body.find("idempotency_key"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      return Status::InvalidArgument("idempotency_key must be a non-empty string");
    }
    tx.idempotency_key = it->get<std::string>();
    // The request as parsed (object keys sorted), so a retry that spells
    // the same JSON differently is still the same request.
    Digester d;
    d.Add(body.dump());
    tx.fingerprint = d.Hex();
  }
  return tx;
}

}  // namespace

void Transact(const ApiContext& ctx, Request& req, const Responder& res) {
  const Limits& limits = ctx.config->limits;
  if (req.body().size() > limits.max_tx_bytes) {
    return res.Error(Status(Code::kPayloadTooLarge, "a transaction's body is at most " +
                                                        std::to_string(limits.max_tx_bytes) +
                                                        " bytes (limits.max_tx_bytes)"));
  }
  auto body = ObjectBody(req);
  if (!body.ok()) return res.Error(body.status());
  auto tx = ParseTx(*body, limits, req.body().size());
  if (!tx.ok()) return res.Error(tx.status());
  ctx.engine->Transact(std::move(*tx), [res](Result<TxOutcome> r) {
    if (!r.ok()) return res.Error(r.status());
    TxOutcome& out = r.value();
    if (!out.committed) {
      const TxCheckFailure& f = *out.failed;
      return res.Send(http::Response::Json(
          409, Json{{"error", "conflict"},
                    {"message", "check " + std::to_string(f.index) + " does not hold; nothing was applied"},
                    {"failed_check", Json{{"index", f.index}, {"current", f.current}}}}));
    }
    Json body = std::move(out.result);
    body["replayed"] = out.replayed;
    res.Send(http::Response::Ok(body));
  });
}

}  // namespace kissvdb::api
