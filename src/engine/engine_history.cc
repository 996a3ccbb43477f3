// Engine: reads of the past (docs/history.md). Every KV version is kept in
// LMDB by (key, offset), written with the state in the same transaction, so
// a read at an offset is one index lookup, as a read of the present is.
#include "engine/engine_impl.h"
#include "engine/state_ops.h"

namespace kissvdb {

namespace {

StateVersion ToVersion(kv::StateVersion&& v) {
  return StateVersion{v.offset, v.ts_ms, v.revision, v.expires_at_ms, v.deleted, std::move(v.reason),
                      std::move(v.value_json)};
}

}  // namespace

Result<uint64_t> EngineImpl::HistoryHorizon() const {
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  return materializer_->state_history().Horizon(*txn);
}

// InvalidArgument when `at` is past the applied offset, Gone when it is
// below the history's horizon.
Status EngineImpl::CheckHistoryAt(const kv::Txn& txn, uint64_t at) const {
  auto applied = materializer_->AppliedOffset(txn);
  if (!applied.ok()) return applied.status();
  if (at > *applied) {
    return Status::InvalidArgument("at " + std::to_string(at) + " is past the last offset, " +
                                   std::to_string(*applied));
  }
  auto horizon = materializer_->state_history().Horizon(txn);
  if (!horizon.ok()) return horizon.status();
  if (at < *horizon) {
    return Status(Code::kGone, "offset " + std::to_string(at) + " is older than the history kept; the oldest is " +
                                   std::to_string(*horizon));
  }
  return Status::OK();
}

// The time of the event at `at`, by which a TTL is judged as a read right
// after it would have judged it. Gone when the log no longer holds it.
Result<uint64_t> EngineImpl::EventTimeAt(uint64_t at) const {
  auto reader = log_->NewReader(at, at);
  Event ev;
  if (!reader->Next(&ev) || ev.offset != at) {
    KISSVDB_RETURN_IF_ERROR(reader->status());
    return Status(Code::kGone, "offset " + std::to_string(at) + " is no longer in the log");
  }
  return ev.ts_ms;
}

Result<StateItem> EngineImpl::GetStateAt(const std::string& key, uint64_t at) const {
  KISSVDB_RETURN_IF_ERROR(state_ops::ValidateKey(key, config_.limits));
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  KISSVDB_RETURN_IF_ERROR(CheckHistoryAt(*txn, at));
  auto version = materializer_->state_history().At(*txn, key, at);
  if (!version.ok()) return version.status();
  if (!version->has_value() || (*version)->deleted) return Status::NotFound("key not found at offset " + std::to_string(at));
  kv::StateVersion& v = **version;
  if (v.expires_at_ms != 0) {
    auto ts = EventTimeAt(at);
    if (!ts.ok()) return ts.status();
    if (v.expires_at_ms <= *ts) return Status::NotFound("key had expired at offset " + std::to_string(at));
  }
  return StateItem{key, std::move(v.value_json), v.revision, v.expires_at_ms, at};
}

Result<StatePage> EngineImpl::ListStateAt(const std::string& prefix, const std::string& after, uint32_t limit,
                                          uint64_t at) const {
  if (prefix.size() > config_.limits.max_key_len) return Status::InvalidArgument("prefix is longer than max_key_len");
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  KISSVDB_RETURN_IF_ERROR(CheckHistoryAt(*txn, at));
  // The event's time is read once, and only if a version has a TTL.
  std::optional<Result<uint64_t>> at_ms;
  Status ttl_error;
  auto visible = [&](const kv::StateVersion& v) {
    if (v.expires_at_ms == 0) return true;
    if (!at_ms) at_ms = EventTimeAt(at);
    if (!at_ms->ok()) {
      ttl_error = at_ms->status();
      return false;
    }
    return v.expires_at_ms > **at_ms;
  };
  std::vector<kv::StateHistory::KeyVersion> found;
  KISSVDB_RETURN_IF_ERROR(materializer_->state_history().ListAt(*txn, prefix, after, at, limit, visible, &found));
  KISSVDB_RETURN_IF_ERROR(ttl_error);
  StatePage page;
  page.as_of = at;
  page.items.reserve(found.size());
  for (auto& [key, v] : found) {
    page.items.push_back(StateItem{std::move(key), std::move(v.value_json), v.revision, v.expires_at_ms, 0});
  }
  return page;
}

Result<StateHistoryPage> EngineImpl::GetStateHistory(const std::string& key, uint64_t before,
                                                     uint32_t limit) const {
  KISSVDB_RETURN_IF_ERROR(state_ops::ValidateKey(key, config_.limits));
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  std::vector<kv::StateVersion> versions;
  KISSVDB_RETURN_IF_ERROR(materializer_->state_history().Versions(*txn, key, before == 0 ? UINT64_MAX : before,
                                                                  limit + 1, &versions));
  StateHistoryPage page;
  const bool more = versions.size() > limit;
  if (more) versions.pop_back();
  for (auto& v : versions) page.versions.push_back(ToVersion(std::move(v)));
  if (more && !page.versions.empty()) page.next_before = page.versions.back().offset;
  return page;
}

}  // namespace kissvdb
