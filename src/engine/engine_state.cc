// Engine: the KV model's API (reads straight from LMDB, writes through the
// commit pipeline).
#include "engine/engine_impl.h"
#include "engine/state_ops.h"

namespace kissvdb {

namespace {
StateItem ToItem(std::string key, const kv::StateRecordView& rec, uint64_t as_of) {
  return StateItem{std::move(key), std::string(rec.value_json), rec.revision, rec.expires_at_ms, as_of};
}
}  // namespace

void EngineImpl::PutState(StatePut put, Callback<StatePutResult> done) {
  Status st = state_ops::ValidatePut(put, config_.limits);
  if (!st.ok()) return done(st);
  auto op = std::make_shared<StatePut>(std::move(put));
  auto result = std::make_shared<StatePutResult>();
  committer_->Submit(WriteRequest{
      [op, result](WriteContext& ctx) { return state_ops::Put(ctx, *op, result.get()); },
      [result, done = std::move(done)](Status st) {
        if (st.ok()) {
          done(std::move(*result));
        } else {
          done(st);
        }
      }});
}

void EngineImpl::DeleteState(std::string key, Callback<bool> done) {
  Status st = state_ops::ValidateKey(key, config_.limits);
  if (!st.ok()) return done(st);
  auto deleted = std::make_shared<bool>(false);
  committer_->Submit(WriteRequest{
      [key = std::move(key), deleted](WriteContext& ctx) { return state_ops::Delete(ctx, key, deleted.get()); },
      [deleted, done = std::move(done)](Status st) {
        if (st.ok()) {
          done(*deleted);
        } else {
          done(st);
        }
      }});
}

void EngineImpl::BatchPutState(std::vector<StatePut> puts, bool atomic, Callback<StateBatchResult> done) {
  if (puts.empty()) return done(Status::InvalidArgument("operations must not be empty"));
  if (puts.size() > config_.limits.max_state_batch) {
    return done(Status::InvalidArgument("at most " + std::to_string(config_.limits.max_state_batch) +
                                        " operations per batch"));
  }
  auto ops = std::make_shared<std::vector<StatePut>>(std::move(puts));
  auto results = std::make_shared<StateBatchResult>();
  results->reserve(ops->size());
  for (size_t i = 0; i < ops->size(); ++i) {
    Status st = state_ops::ValidatePut((*ops)[i], config_.limits);
    if (st.ok()) {
      results->emplace_back(StatePutResult{});
    } else if (atomic) {
      return done(Status(st.code(), "operation " + std::to_string(i) + ": " + st.message()));
    } else {
      results->emplace_back(st);
    }
  }
  auto prepare = [ops, results, atomic](WriteContext& ctx) -> Status {
    for (size_t i = 0; i < ops->size(); ++i) {
      if (!(*results)[i].ok()) continue;  // failed validation
      StatePutResult r;
      Status st = atomic ? state_ops::Put(ctx, (*ops)[i], &r)
                         : ctx.Atomically([&] { return state_ops::Put(ctx, (*ops)[i], &r); });
      if (st.ok()) {
        (*results)[i] = std::move(r);
      } else if (atomic) {
        return Status(st.code(), "operation " + std::to_string(i) + " (key " + (*ops)[i].key + "): " + st.message());
      } else {
        (*results)[i] = st;
      }
    }
    return Status::OK();
  };
  committer_->Submit(WriteRequest{std::move(prepare), [results, done = std::move(done)](Status st) {
                                    if (st.ok()) {
                                      done(std::move(*results));
                                    } else {
                                      done(st);
                                    }
                                  },
                                  atomic});
}

Result<StateItem> EngineImpl::GetState(const std::string& key) const {
  KISSVDB_RETURN_IF_ERROR(state_ops::ValidateKey(key, config_.limits));
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  auto rec = materializer_->state().Get(*txn, key);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value() || (*rec)->ExpiredAt(clock_.NowMs())) return Status::NotFound("key not found");
  auto as_of = materializer_->AppliedOffset(*txn);
  if (!as_of.ok()) return as_of.status();
  return ToItem(key, **rec, *as_of);
}

Result<StatePage> EngineImpl::ListState(const std::string& prefix, const std::string& after,
                                        uint32_t limit) const {
  if (prefix.size() > config_.limits.max_key_len) return Status::InvalidArgument("prefix is longer than max_key_len");
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  std::vector<kv::StateRecord> records;
  KISSVDB_RETURN_IF_ERROR(materializer_->state().List(*txn, prefix, after, limit, clock_.NowMs(), &records));
  StatePage page;
  auto as_of = materializer_->AppliedOffset(*txn);
  if (!as_of.ok()) return as_of.status();
  page.as_of = *as_of;
  page.items.reserve(records.size());
  for (auto& r : records) {
    page.items.push_back(StateItem{std::move(r.key), std::move(r.value_json), r.revision, r.expires_at_ms, 0});
  }
  return page;
}

}  // namespace kissvdb
