// The KV model's mutations: validation + the events they emit.
//
// Each function runs on the commit thread inside WriteContext::Atomically
// and either emits the events of its change or returns an error having
// emitted nothing that survives.
#pragma once

#include "engine/write_context.h"
#include "kissvdb/config.h"
#include "kissvdb/engine.h"

namespace kissvdb::state_ops {

// Checks a key: non-empty, at most max_key_len bytes, valid UTF-8.
Status ValidateKey(const std::string& key, const Limits& limits);
// Checks a put's fields (key, value size, ttl) before it is queued.
Status ValidatePut(const StatePut& put, const Limits& limits);

// Put with optional CAS and TTL. A key whose TTL has passed but that the
// sweeper has not removed yet counts as absent; its expiry is logged first.
Status Put(WriteContext& ctx, const StatePut& put, StatePutResult* result);
// Removes a live key; *deleted = false (and no event) when it is absent.
Status Delete(WriteContext& ctx, const std::string& key, bool* deleted);
// The sweeper's mutation: logs the expiry of `key` if it is still expired
// with the same deadline.
Status Expire(WriteContext& ctx, const std::string& key, uint64_t expires_at_ms);

}  // namespace kissvdb::state_ops
