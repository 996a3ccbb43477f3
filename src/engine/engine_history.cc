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

Result<StateItem> EngineImpl::GetStateAt(const std::string& key, uint64_t at) const {
  KISSVDB_RETURN_IF_ERROR(state_ops::ValidateKey(key, config_.limits));
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  auto applied = materializer_->AppliedOffset(*txn);
  if (!applied.ok()) return applied.status();
  if (at > *applied) {
    return Status::InvalidArgument("at " + std::to_string(at) + " is past the last offset, " +
                                   std::to_string(*applied));
  }
  const kv::StateHistory& history = materializer_->state_history();
  auto horizon = history.Horizon(*txn);
  if (!horizon.ok()) return horizon.status();
  if (at < *horizon) {
    return Status(Code::kGone, "offset " + std::to_string(at) + " is older than the history kept; the oldest is " +
                                   std::to_string(*horizon));
  }
  auto version = history.At(*txn, key, at);
  if (!version.ok()) return version.status();
  if (!version->has_value() || (*version)->deleted) return Status::NotFound("key not found at offset " + std::to_string(at));
  kv::StateVersion& v = **version;
  if (v.expires_at_ms != 0) {
    // A TTL is judged at the time of the event at `at`, as a read right
    // after it would have judged it. That time is in the log.
    auto reader = log_->NewReader(at, at);
    Event ev;
    if (!reader->Next(&ev) || ev.offset != at) {
      KISSVDB_RETURN_IF_ERROR(reader->status());
      return Status(Code::kGone, "offset " + std::to_string(at) + " is no longer in the log");
    }
    if (v.expires_at_ms <= ev.ts_ms) return Status::NotFound("key had expired at offset " + std::to_string(at));
  }
  return StateItem{key, std::move(v.value_json), v.revision, v.expires_at_ms};
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
