// Engine: the vector model's API. Writes are validated on the commit thread
// (vector_ops) and applied to the in-memory indexes once durable; reads and
// searches go straight to the VectorStore and run in parallel.
#include "engine/engine_impl.h"
#include "engine/vector_ops.h"

namespace kissvdb {

namespace {
template <typename T>
void Finish(const Callback<T>& done, Status st, T value) {
  if (st.ok()) {
    done(std::move(value));
  } else {
    done(st);
  }
}
}  // namespace

void EngineImpl::CreateVectorCollection(vector::CollectionSpec spec, std::optional<text::TextSpec> text,
                                        Callback<vector::CollectionSpec> done) {
  Status st = vector_ops::ValidateCollectionName(spec.name, config_.limits);
  if (st.ok()) st = vector::ValidateSpec(spec, vector_limits_);
  if (st.ok() && text) st = text::ValidateSpec(*text);
  if (!st.ok()) return done(st);
  auto shared = std::make_shared<vector::CollectionSpec>(std::move(spec));
  committer_->Submit(WriteRequest{[shared, text = std::move(text)](WriteContext& ctx) {
                                    return vector_ops::Create(ctx, *shared, text);
                                  },
                                  [shared, done = std::move(done)](Status st) { Finish(done, st, *shared); }});
}

void EngineImpl::DropVectorCollection(std::string collection, Callback<bool> done) {
  Status st = vector_ops::ValidateCollectionName(collection, config_.limits);
  if (!st.ok()) return done(st);
  auto dropped = std::make_shared<bool>(false);
  committer_->Submit(WriteRequest{
      [collection = std::move(collection), dropped](WriteContext& ctx) {
        return vector_ops::Drop(ctx, collection, dropped.get());
      },
      [dropped, done = std::move(done)](Status st) { Finish(done, st, *dropped); }});
}

void EngineImpl::SubmitItems(std::shared_ptr<const std::string> collection, size_t count, bool atomic,
                             std::function<Status(WriteContext&, size_t)> item, Callback<VectorBatchResult> done) {
  auto results = std::make_shared<VectorBatchResult>(count);
  auto prepare = [collection, count, atomic, item = std::move(item), results](WriteContext& ctx) -> Status {
    if (!ctx.vectors().Describe(*collection)) {
      return Status::NotFound("vector collection \"" + *collection + "\" not found");
    }
    for (size_t i = 0; i < count; ++i) {
      Status st = atomic ? item(ctx, i) : ctx.Atomically([&] { return item(ctx, i); });
      if (!st.ok() && atomic) return Status(st.code(), "item " + std::to_string(i) + ": " + st.message());
      (*results)[i] = st;
    }
    return Status::OK();
  };
  committer_->Submit(WriteRequest{std::move(prepare), [results, done = std::move(done)](Status st) {
                                    Finish(done, st, std::move(*results));
                                  },
                                  atomic});
}

void EngineImpl::WriteVectors(std::string collection, VectorWriteKind kind, std::vector<VectorWrite> items,
                              bool atomic, Callback<VectorBatchResult> done) {
  Status st = vector_ops::ValidateCollectionName(collection, config_.limits);
  if (st.ok() && (items.empty() || items.size() > config_.limits.max_vector_batch)) {
    st = Status::InvalidArgument("a batch holds 1.." + std::to_string(config_.limits.max_vector_batch) + " items");
  }
  for (size_t i = 0; st.ok() && i < items.size(); ++i) {
    st = vector_ops::ValidateIdLength(items[i].id, config_.limits);
    if (!st.ok()) st = Status(st.code(), "item " + std::to_string(i) + ": " + st.message());
  }
  if (!st.ok()) return done(st);
  auto shared = std::make_shared<std::vector<VectorWrite>>(std::move(items));
  auto name = std::make_shared<std::string>(std::move(collection));
  SubmitItems(
      name, shared->size(), atomic,
      [name, shared, kind, limits = &config_.limits](WriteContext& ctx, size_t i) {
        return vector_ops::Write(ctx, *name, kind, (*shared)[i], *limits);
      },
      std::move(done));
}

void EngineImpl::DeleteVectors(std::string collection, std::vector<std::string> ids, bool atomic,
                               Callback<VectorBatchResult> done) {
  Status st = vector_ops::ValidateCollectionName(collection, config_.limits);
  if (st.ok() && (ids.empty() || ids.size() > config_.limits.max_vector_batch)) {
    st = Status::InvalidArgument("a batch holds 1.." + std::to_string(config_.limits.max_vector_batch) + " ids");
  }
  if (!st.ok()) return done(st);
  auto shared = std::make_shared<std::vector<std::string>>(std::move(ids));
  auto name = std::make_shared<std::string>(std::move(collection));
  SubmitItems(
      name, shared->size(), atomic,
      [name, shared](WriteContext& ctx, size_t i) { return vector_ops::Delete(ctx, *name, (*shared)[i]); },
      std::move(done));
}

Result<vector::VectorRecord> EngineImpl::GetVector(const std::string& collection, const std::string& id) const {
  return vectors_->Get(collection, id);
}

Result<std::vector<vector::SearchHit>> EngineImpl::SearchVectors(const std::string& collection,
                                                                 const vector::SearchRequest& request,
                                                                 vector::SearchStats* stats) const {
  auto info = vectors_->Info(collection);
  if (!info) return Status::NotFound("vector collection \"" + collection + "\" not found");
  KISSVDB_RETURN_IF_ERROR(vector::ValidateSearch(request, info->spec.dim, info->spec.metric, vector_limits_));
  return vectors_->Search(collection, request, stats);
}

Result<vector::CollectionInfo> EngineImpl::VectorCollection(const std::string& collection) const {
  auto info = vectors_->Info(collection);
  if (!info) return Status::NotFound("vector collection \"" + collection + "\" not found");
  return *info;
}

std::vector<vector::CollectionInfo> EngineImpl::ListVectorCollections() const { return vectors_->List(); }

}  // namespace kissvdb
