// Engine: reads of the past (docs/history.md). Every version of a KV key or
// a document is kept in LMDB, written with the model in the same
// transaction (kv/offset_history.h), so a read at an offset costs two index
// lookups, as a read of the present costs one.
#include <algorithm>
#include <functional>

#include "engine/doc_ops.h"
#include "engine/engine_impl.h"
#include "engine/state_ops.h"
#include "util/json_filter.h"

namespace kissvdb {

namespace {

StateVersion ToVersion(kv::Version&& v) {
  return StateVersion{v.offset, v.ts_ms, v.revision, v.expires_at_ms, v.deleted, std::move(v.reason),
                      std::move(v.value_json)};
}

// Versions of `key` with offset < before (0 = all), newest first, in pages.
Result<StateHistoryPage> HistoryPage(const kv::OffsetHistory& history, const kv::Txn& txn, std::string_view key,
                                     uint64_t before, uint32_t limit) {
  std::vector<kv::Version> versions;
  KISSVDB_RETURN_IF_ERROR(history.Versions(txn, key, before == 0 ? UINT64_MAX : before, limit + 1, &versions));
  StateHistoryPage page;
  const bool more = versions.size() > limit;
  if (more) versions.pop_back();
  for (auto& v : versions) page.versions.push_back(ToVersion(std::move(v)));
  if (more && !page.versions.empty()) page.next_before = page.versions.back().offset;
  return page;
}

// The documents of `collection` live at `at` that `keep` accepts, in id
// order after `after_id` ("" = from the first), at most limit; next_cursor
// is the last id when the page is full.
Result<DocPage> DocsAt(const kv::Txn& txn, const kv::OffsetHistory& history, const std::string& collection,
                       const std::string& after_id, uint32_t limit, uint64_t at,
                       const std::function<bool(const kv::Version&)>& keep) {
  const std::string prefix = doc::DocHistory::Key(collection, "");
  const std::string after = after_id.empty() ? "" : doc::DocHistory::Key(collection, after_id);
  std::vector<kv::OffsetHistory::KeyVersion> found;
  KISSVDB_RETURN_IF_ERROR(history.ListAt(txn, prefix, after, at, limit, keep, &found));
  DocPage page;
  page.as_of = at;
  for (auto& [key, v] : found) {
    page.documents.push_back(DocItem{key.substr(prefix.size()), v.revision, std::move(v.value_json), 0});
  }
  if (page.documents.size() == limit) page.next_cursor = page.documents.back().id;
  return page;
}

}  // namespace

Result<uint64_t> EngineImpl::HistoryHorizon() const {
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  return EffectiveHorizon(*txn, materializer_->state_history());
}

// InvalidArgument when `at` is past the applied offset, Gone when it is
// below the history's horizon.
Status EngineImpl::CheckHistoryAt(const kv::Txn& txn, const kv::OffsetHistory& history, uint64_t at) const {
  auto applied = materializer_->AppliedOffset(txn);
  if (!applied.ok()) return applied.status();
  if (at > *applied) {
    return Status::InvalidArgument("at " + std::to_string(at) + " is past the last offset, " +
                                   std::to_string(*applied));
  }
  if (!materializer_->history()) {
    return Status(Code::kGone, "history is off (history_retention=off): no past offset can be read");
  }
  auto horizon = EffectiveHorizon(txn, history);
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
  KISSVDB_RETURN_IF_ERROR(CheckHistoryAt(*txn, materializer_->state_history(), at));
  auto version = materializer_->state_history().At(*txn, key, at);
  if (!version.ok()) return version.status();
  if (!version->has_value() || (*version)->deleted) return Status::NotFound("key not found at offset " + std::to_string(at));
  kv::Version& v = **version;
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
  KISSVDB_RETURN_IF_ERROR(CheckHistoryAt(*txn, materializer_->state_history(), at));
  // The event's time is read once, and only if a version has a TTL.
  std::optional<Result<uint64_t>> at_ms;
  Status ttl_error;
  auto visible = [&](const kv::Version& v) {
    if (v.expires_at_ms == 0) return true;
    if (!at_ms) at_ms = EventTimeAt(at);
    if (!at_ms->ok()) {
      ttl_error = at_ms->status();
      return false;
    }
    return v.expires_at_ms > **at_ms;
  };
  std::vector<kv::OffsetHistory::KeyVersion> found;
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
  return HistoryPage(materializer_->state_history(), *txn, key, before, limit);
}

// ---- Documents: the same, keyed by collection 00 id ----

Result<uint64_t> EngineImpl::DocHistoryHorizon() const {
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  return EffectiveHorizon(*txn, materializer_->doc_history());
}

Result<DocItem> EngineImpl::GetDocAt(const std::string& collection, const std::string& id, uint64_t at) const {
  KISSVDB_RETURN_IF_ERROR(doc_ops::ValidateDocId(collection, id, config_.limits));
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  const kv::OffsetHistory& history = materializer_->doc_history();
  KISSVDB_RETURN_IF_ERROR(CheckHistoryAt(*txn, history, at));
  auto version = history.At(*txn, doc::DocHistory::Key(collection, id), at);
  if (!version.ok()) return version.status();
  if (!version->has_value() || (*version)->deleted) {
    return Status::NotFound("document not found at offset " + std::to_string(at));
  }
  return DocItem{id, (*version)->revision, std::move((*version)->value_json), at};
}

Result<DocPage> EngineImpl::ListDocsAt(const std::string& collection, const std::string& after_id, uint32_t limit,
                                       uint64_t at) const {
  KISSVDB_RETURN_IF_ERROR(doc_ops::ValidateCollection(collection, config_.limits));
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  KISSVDB_RETURN_IF_ERROR(CheckHistoryAt(*txn, materializer_->doc_history(), at));
  return DocsAt(*txn, materializer_->doc_history(), collection, after_id,
                std::clamp<uint32_t>(limit, 1, config_.limits.max_list_limit), at,
                [](const kv::Version&) { return true; });
}

Result<DocPage> EngineImpl::FindDocsAt(const DocQuery& query, uint64_t at) const {
  KISSVDB_RETURN_IF_ERROR(doc_ops::ValidateCollection(query.collection, config_.limits));
  if (!query.filter.is_null() && !query.filter.is_object()) {
    return Status::InvalidArgument("filter must be a JSON object");
  }
  if (query.sort) return Status::InvalidArgument("sort is not supported with at: matches come in id order");
  auto compiled = JsonFilter::Compile(query.filter);
  if (!compiled.ok()) return compiled.status();
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  KISSVDB_RETURN_IF_ERROR(CheckHistoryAt(*txn, materializer_->doc_history(), at));
  // Every document of the collection at `at` is read and matched: there is
  // no index of the past.
  uint64_t examined = 0;
  auto page = DocsAt(*txn, materializer_->doc_history(), query.collection, query.cursor,
                     std::clamp<uint32_t>(query.limit, 1, config_.limits.max_doc_find), at,
                     [&](const kv::Version& v) {
                       ++examined;
                       const Json doc = Json::parse(v.value_json, nullptr, /*allow_exceptions=*/false);
                       return !doc.is_discarded() && compiled->Matches(doc);
                     });
  if (page.ok()) {
    page->plan = Json{{"used", "scan"}, {"examined", examined}, {"note", "the documents as of at, from their history"}};
  }
  return page;
}

Result<StateHistoryPage> EngineImpl::GetDocHistory(const std::string& collection, const std::string& id,
                                                   uint64_t before, uint32_t limit) const {
  KISSVDB_RETURN_IF_ERROR(doc_ops::ValidateDocId(collection, id, config_.limits));
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  return HistoryPage(materializer_->doc_history(), *txn, doc::DocHistory::Key(collection, id), before, limit);
}

}  // namespace kissvdb
