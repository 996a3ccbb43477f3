// Engine: API keys (see auth_keys.h for the model).
#include "engine/engine_impl.h"
#include "util/random.h"

namespace kissvdb {

void EngineImpl::CreateApiKey(NewApiKey key, Callback<CreatedApiKey> done) {
  Status st = auth_keys::Validate(key);
  if (!st.ok()) return done(st);
  // The secret is drawn here, off the commit thread; only its digest is logged.
  auto secret = random_util::RandomHex(32);
  auto id = random_util::RandomHex(8);
  if (!secret.ok()) return done(secret.status());
  if (!id.ok()) return done(id.status());
  auto result = std::make_shared<CreatedApiKey>();
  result->key = std::string(auth_keys::kKeyPrefix) + *secret;
  result->info.id = "key_" + *id;
  result->info.name = std::move(key.name);
  result->info.role = std::move(key.role);
  result->info.permissions = std::move(key.permissions);
  const std::string digest = auth_keys::DigestHex(result->key);
  auto prepare = [result, digest](WriteContext& ctx) -> Status {
    auto existing = ctx.stores().auth_keys().Get(ctx.txn(), result->info.id);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) return Status(Code::kConflict, "key id collision; retry");
    result->info.created_at_ms = ctx.now_ms();
    return ctx.Emit(event_type::kAuthKeyCreated, auth_keys::CreatedEventData(result->info, digest));
  };
  committer_->Submit(WriteRequest{std::move(prepare), [result, done = std::move(done)](Status st) {
                                    if (st.ok()) {
                                      done(std::move(*result));
                                    } else {
                                      done(st);
                                    }
                                  }});
}

void EngineImpl::RevokeApiKey(std::string id, Callback<bool> done) {
  auto prepare = [id = std::move(id)](WriteContext& ctx) -> Status {
    auto existing = ctx.stores().auth_keys().Get(ctx.txn(), id);
    if (!existing.ok()) return existing.status();
    if (!existing->has_value()) return Status::NotFound("no API key with id " + id);
    if ((*existing)->revoked_at_ms != 0) return Status::OK();  // idempotent, no event
    return ctx.Emit(event_type::kAuthKeyRevoked, Json{{"id", id}, {"revoked_at_ms", ctx.now_ms()}});
  };
  // `done` runs after the index dropped the key (Committer: in-memory apply
  // precedes completion), so the revocation is in force when it answers.
  committer_->Submit(WriteRequest{std::move(prepare), [done = std::move(done)](Status st) {
                                    if (st.ok()) {
                                      done(true);
                                    } else {
                                      done(st);
                                    }
                                  }});
}

Result<std::vector<ApiKeyInfo>> EngineImpl::ListApiKeys() const {
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  return materializer_->auth_keys().List(*txn);
}

std::optional<ApiKeyPrincipal> EngineImpl::LookupApiKey(std::string_view token) const {
  return materializer_->auth_index().Lookup(token);
}

}  // namespace kissvdb
