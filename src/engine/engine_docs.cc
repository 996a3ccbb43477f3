// Engine: the document model's API (reads straight from LMDB, one read
// transaction per call; writes through the commit pipeline).
#include <algorithm>

#include "doc/find.h"
#include "engine/doc_ops.h"
#include "engine/engine_impl.h"

namespace kissvdb {

namespace {

// Submits `op` and completes `done` with *result after durability.
template <typename T, typename Op>
WriteRequest MakeWrite(std::shared_ptr<T> result, Op op, Callback<T> done) {
  return WriteRequest{[result, op = std::move(op)](WriteContext& ctx) mutable { return op(ctx, result.get()); },
                      [result, done = std::move(done)](Status st) {
                        if (st.ok()) {
                          done(std::move(*result));
                        } else {
                          done(st);
                        }
                      }};
}

DocPage ToPage(doc::FindResult&& found) {
  DocPage page;
  page.documents.reserve(found.docs.size());
  for (auto& d : found.docs) page.documents.push_back(DocItem{std::move(d.id), d.revision, std::move(d.json), 0});
  page.next_cursor = std::move(found.next_cursor);
  page.plan = std::move(found.plan);
  return page;
}

}  // namespace

void EngineImpl::PutDoc(DocPut put, Callback<DocItem> done) {
  std::string doc_json;
  Status st = doc_ops::ValidatePut(put, config_.limits, &doc_json);
  if (!st.ok()) return done(st);
  auto op = std::make_shared<DocPut>(std::move(put));
  committer_->Submit(MakeWrite<DocItem>(
      std::make_shared<DocItem>(),
      [op, doc_json = std::move(doc_json), limits = &config_.limits](WriteContext& ctx, DocItem* r) mutable {
        return doc_ops::Put(ctx, *op, std::move(doc_json), *limits, r);
      },
      std::move(done)));
}

void EngineImpl::PatchDoc(DocPatch patch, Callback<DocItem> done) {
  Status st = doc_ops::ValidatePatch(patch, config_.limits);
  if (!st.ok()) return done(st);
  auto op = std::make_shared<DocPatch>(std::move(patch));
  const Limits* limits = &config_.limits;
  committer_->Submit(MakeWrite<DocItem>(
      std::make_shared<DocItem>(),
      [op, limits](WriteContext& ctx, DocItem* r) { return doc_ops::Patch(ctx, *op, *limits, r); },
      std::move(done)));
}

void EngineImpl::DeleteDoc(std::string collection, std::string id, std::optional<uint64_t> if_revision,
                           Callback<bool> done) {
  Status st = doc_ops::ValidateDocId(collection, id, config_.limits);
  if (!st.ok()) return done(st);
  committer_->Submit(MakeWrite<bool>(
      std::make_shared<bool>(false),
      [collection = std::move(collection), id = std::move(id), if_revision](WriteContext& ctx, bool* deleted) {
        return doc_ops::Delete(ctx, collection, id, if_revision, deleted);
      },
      std::move(done)));
}

void EngineImpl::DropDocCollection(std::string collection, Callback<uint64_t> done) {
  Status st = doc_ops::ValidateCollection(collection, config_.limits);
  if (!st.ok()) return done(st);
  committer_->Submit(MakeWrite<uint64_t>(
      std::make_shared<uint64_t>(0),
      [collection = std::move(collection)](WriteContext& ctx, uint64_t* dropped) {
        return doc_ops::Drop(ctx, collection, dropped);
      },
      std::move(done)));
}

Result<DocItem> EngineImpl::GetDoc(const std::string& collection, const std::string& id) const {
  KISSVDB_RETURN_IF_ERROR(doc_ops::ValidateDocId(collection, id, config_.limits));
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  auto rec = materializer_->docs().Get(*txn, collection, id);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value()) return Status::NotFound("document not found");
  auto as_of = materializer_->AppliedOffset(*txn);
  if (!as_of.ok()) return as_of.status();
  return DocItem{id, (*rec)->revision, std::string((*rec)->json), *as_of};
}

Result<DocPage> EngineImpl::FindDocs(const DocQuery& query) const {
  KISSVDB_RETURN_IF_ERROR(doc_ops::ValidateCollection(query.collection, config_.limits));
  if (!query.filter.is_null() && !query.filter.is_object()) {
    return Status::InvalidArgument("filter must be a JSON object");
  }
  auto compiled = JsonFilter::Compile(query.filter);
  if (!compiled.ok()) return compiled.status();
  if (query.sort && query.sort->field.empty()) return Status::InvalidArgument("sort.field must not be empty");
  doc::FindRequest req;
  req.collection = query.collection;
  req.filter = query.filter;
  req.compiled = &*compiled;
  if (query.sort) req.sort = doc::SortSpec{query.sort->field, query.sort->descending};
  req.cursor = query.cursor;
  req.limit = std::clamp<uint32_t>(query.limit, 1, config_.limits.max_doc_find);
  req.give_up_after = query.give_up_after;
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  doc::FindResult found;
  KISSVDB_RETURN_IF_ERROR(doc::Find(materializer_->docs(), *txn, req, &found));
  auto as_of = materializer_->AppliedOffset(*txn);
  if (!as_of.ok()) return as_of.status();
  if (found.gave_up) {
    DocPage page;
    page.gave_up = true;
    return page;
  }
  DocPage page = ToPage(std::move(found));
  page.as_of = *as_of;
  return page;
}

Result<DocPage> EngineImpl::ListDocs(const std::string& collection, const std::string& cursor,
                                     uint32_t limit) const {
  KISSVDB_RETURN_IF_ERROR(doc_ops::ValidateCollection(collection, config_.limits));
  doc::FindRequest req;
  req.collection = collection;
  req.cursor = cursor;
  req.limit = std::clamp<uint32_t>(limit, 1, config_.limits.max_list_limit);
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  doc::FindResult found;
  KISSVDB_RETURN_IF_ERROR(doc::Find(materializer_->docs(), *txn, req, &found));
  auto as_of = materializer_->AppliedOffset(*txn);
  if (!as_of.ok()) return as_of.status();
  DocPage page = ToPage(std::move(found));
  page.plan = Json();
  page.as_of = *as_of;
  return page;
}

Result<std::vector<DocCollectionInfo>> EngineImpl::ListDocCollections() const {
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  std::vector<std::pair<std::string, uint64_t>> raw;
  KISSVDB_RETURN_IF_ERROR(materializer_->docs().ListCollections(*txn, &raw));
  std::vector<DocCollectionInfo> out;
  out.reserve(raw.size());
  for (auto& [name, count] : raw) out.push_back(DocCollectionInfo{std::move(name), count});
  return out;
}

}  // namespace kissvdb
