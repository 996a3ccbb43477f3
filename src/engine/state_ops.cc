#include "engine/state_ops.h"

#include "util/utf8.h"

namespace kissvdb::state_ops {

namespace {

Json DeletedEvent(const std::string& key, const char* reason) {
  return Json{{"key", key}, {"reason", reason}};
}

// Logs the removal of an expired-but-unswept record so that the log, the
// stream and replay all see it disappear before anything replaces it.
Status ExpireIfDue(WriteContext& ctx, const std::string& key, bool* live, uint64_t* revision) {
  auto rec = ctx.stores().state().Get(ctx.txn(), key);
  if (!rec.ok()) return rec.status();
  *live = rec->has_value();
  *revision = *live ? (*rec)->revision : 0;
  if (*live && (*rec)->ExpiredAt(ctx.now_ms())) {
    *live = false;
    *revision = 0;
    return ctx.Emit(event_type::kStateDeleted, DeletedEvent(key, "ttl"));
  }
  return Status::OK();
}

}  // namespace

Status ValidateKey(const std::string& key, const Limits& limits) {
  if (key.empty()) return Status::InvalidArgument("key must not be empty");
  if (key.size() > limits.max_key_len) {
    return Status::InvalidArgument("key is " + std::to_string(key.size()) + " bytes; the limit is " +
                                   std::to_string(limits.max_key_len));
  }
  if (!utf8::IsValid(key)) return Status::InvalidArgument("key is not valid UTF-8");
  return Status::OK();
}

Status ValidatePut(const StatePut& put, const Limits& limits) {
  KISSVDB_RETURN_IF_ERROR(ValidateKey(put.key, limits));
  if (put.ttl_ms && *put.ttl_ms == 0) return Status::InvalidArgument("ttl_ms must be at least 1");
  if (put.ttl_ms && *put.ttl_ms > (1ull << 50)) return Status::InvalidArgument("ttl_ms is too large");
  return Status::OK();
}

Status Put(WriteContext& ctx, const StatePut& put, StatePutResult* result) {
  bool live = false;
  uint64_t revision = 0;
  KISSVDB_RETURN_IF_ERROR(ExpireIfDue(ctx, put.key, &live, &revision));
  if (put.if_revision && *put.if_revision != revision) {
    std::string current = live ? "current revision is " + std::to_string(revision) : "the key does not exist";
    return Status(Code::kRevisionMismatch, "if_revision " + std::to_string(*put.if_revision) +
                                               " does not match: " + current);
  }
  result->key = put.key;
  result->revision = revision + 1;
  result->expires_at_ms = put.ttl_ms ? ctx.now_ms() + *put.ttl_ms : 0;
  Json data{{"key", put.key}, {"revision", result->revision}, {"value", put.value}};
  data["expires_at_ms"] = result->expires_at_ms ? Json(result->expires_at_ms) : Json(nullptr);
  return ctx.Emit(event_type::kStateUpdated, std::move(data));
}

Status Delete(WriteContext& ctx, const std::string& key, bool* deleted) {
  bool live = false;
  uint64_t revision = 0;
  KISSVDB_RETURN_IF_ERROR(ExpireIfDue(ctx, key, &live, &revision));
  *deleted = live;
  if (!live) return Status::OK();
  return ctx.Emit(event_type::kStateDeleted, DeletedEvent(key, "explicit"));
}

Status Expire(WriteContext& ctx, const std::string& key, uint64_t expires_at_ms) {
  auto rec = ctx.stores().state().Get(ctx.txn(), key);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value() || (*rec)->expires_at_ms != expires_at_ms || !(*rec)->ExpiredAt(ctx.now_ms())) {
    return Status::OK();  // rewritten or deleted since the sweeper looked
  }
  return ctx.Emit(event_type::kStateDeleted, DeletedEvent(key, "ttl"));
}

}  // namespace kissvdb::state_ops
