#include "doc/doc_store.h"

#include "doc/db_cursor.h"
#include "doc/index_codec.h"
#include "kv/version_heads.h"
#include "util/json_writer.h"

namespace kissvdb::doc {

namespace {
constexpr size_t kRecordHeader = 8;  // u64le revision
constexpr size_t kStatsBytes = 24;   // three u64le counters
enum State { kIndexed = 0, kLong = 1, kUnfit = 2 };

Status Malformed(const Event& event, const std::string& what) {
  return Status::Corruption("event " + std::to_string(event.offset) + " (" + event.type +
                            ") has a malformed payload: " + what);
}
}  // namespace

// One top-level scalar field of a document, as the index sees it.
struct DocStore::Entry {
  std::string_view field;  // points into the document
  State state;
  std::string key;  // the doc_index key when state == kIndexed
};

Result<DocStore> DocStore::Open(kv::Txn& txn) {
  MDB_dbi dbis[4];
  const char* names[4] = {"docs", "doc_index", "doc_fields", "doc_collections"};
  for (int i = 0; i < 4; ++i) {
    auto dbi = txn.OpenDb(names[i], MDB_CREATE);
    if (!dbi.ok()) return dbi.status();
    dbis[i] = *dbi;
  }
  return DocStore(dbis[0], dbis[1], dbis[2], dbis[3]);
}

bool DocStore::Handles(std::string_view event_type) {
  return event_type == event_type::kDocUpdated || event_type == event_type::kDocDeleted ||
         event_type == event_type::kDocCollectionDropped;
}

Status DocStore::ApplyEvent(kv::Txn& txn, const Event& event) {
  const Json& d = event.data;
  try {
    const std::string& collection = d.at("collection").get_ref<const std::string&>();
    if (event.type == event_type::kDocCollectionDropped) return ApplyDrop(txn, collection);
    const std::string& id = d.at("id").get_ref<const std::string&>();
    if (event.type == event_type::kDocDeleted) return ApplyDelete(txn, collection, id);
    const Json& doc = d.at("doc");
    if (!doc.is_object()) return Malformed(event, "doc is not an object");
    return ApplyPut(txn, collection, id, d.at("revision").get<uint64_t>(), doc);
  } catch (const Json::exception& e) {
    return Malformed(event, e.what());
  }
}

Result<std::optional<DocRecordView>> DocStore::Get(const kv::Txn& txn, std::string_view collection,
                                                   std::string_view id) const {
  auto raw = txn.Get(docs_, DocKey(collection, id));
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<DocRecordView>();
  auto rec = DecodeRecord(**raw);
  if (!rec) return Status::Corruption("document record shorter than its header");
  return rec;
}

std::optional<DocRecordView> DocStore::DecodeRecord(std::string_view raw) {
  if (raw.size() < kRecordHeader) return std::nullopt;
  DocRecordView r{kv::GetU64LE(raw.data()), raw.substr(kRecordHeader), {}};
  if (!kv::TakeHeadsField(&r.revision, &r.json, &r.heads)) return std::nullopt;
  return r;
}

namespace {
void EncodeHeader(std::string* record, uint64_t revision, std::string_view heads) {
  kv::PutU64LE(record, kv::RevisionField(revision, heads));
  kv::PutHeadsField(record, heads);
}
}  // namespace

Result<bool> DocStore::SetHeads(kv::Txn& txn, std::string_view key, std::string_view heads) {
  auto raw = txn.Get(docs_, key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return false;
  auto rec = DecodeRecord(**raw);
  if (!rec) return Status::Corruption("document record shorter than its header");
  std::string record;
  EncodeHeader(&record, rec->revision, heads);
  record.append(rec->json);
  KISSVDB_RETURN_IF_ERROR(txn.Put(docs_, key, record));
  return true;
}

Result<uint64_t> DocStore::Count(const kv::Txn& txn, std::string_view collection) const {
  auto raw = txn.Get(collections_, collection);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return uint64_t{0};
  if ((*raw)->size() != 8) return Status::Corruption("doc_collections value is not 8 bytes");
  return kv::GetU64LE((*raw)->data());
}

Result<FieldStats> DocStore::Stats(const kv::Txn& txn, std::string_view collection, std::string_view field) const {
  auto raw = txn.Get(fields_, FieldStatsKey(collection, field));
  if (!raw.ok()) return raw.status();
  FieldStats s;
  if (!raw->has_value()) return s;
  if ((*raw)->size() != kStatsBytes) return Status::Corruption("doc_fields value is not 24 bytes");
  s.indexed = kv::GetU64LE((*raw)->data());
  s.long_values = kv::GetU64LE((*raw)->data() + 8);
  s.unfit = kv::GetU64LE((*raw)->data() + 16);
  return s;
}

Status DocStore::ListCollections(const kv::Txn& txn, std::vector<std::pair<std::string, uint64_t>>* out) const {
  auto c = DbCursor::Open(txn, collections_);
  if (!c.ok()) return c.status();
  for (bool v = c->First(); v; v = c->Next()) {
    if (c->value().size() != 8) return Status::Corruption("doc_collections value is not 8 bytes");
    out->emplace_back(std::string(c->key()), kv::GetU64LE(c->value().data()));
  }
  return c->status();
}

void DocStore::EntriesOf(std::string_view collection, std::string_view id, const Json& doc,
                         std::vector<Entry>* out) {
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& field = it.key();
    if (!IndexableField(field)) continue;
    Entry e{field, kIndexed, FieldPrefix(collection, field)};
    const size_t before = e.key.size();
    if (!AppendScalar(&e.key, it.value())) continue;  // objects and arrays are not indexed
    if (e.key.size() - before > kMaxIndexedValueBytes) {
      e.state = kLong;
    } else if (e.key.size() + id.size() > kMaxKeyBytes) {
      e.state = kUnfit;
    }
    if (e.state == kIndexed) {
      e.key.append(id);
    } else {
      e.key.clear();
    }
    out->push_back(std::move(e));
  }
}

Status DocStore::UpdateIndex(kv::Txn& txn, std::string_view collection, const std::vector<Entry>& old_entries,
                             const std::vector<Entry>& new_entries) {
  // Both lists are in field order (nlohmann objects are sorted maps).
  size_t i = 0, j = 0;
  while (i < old_entries.size() || j < new_entries.size()) {
    const Entry* o = nullptr;
    const Entry* n = nullptr;
    if (j == new_entries.size() ||
        (i < old_entries.size() && old_entries[i].field.compare(new_entries[j].field) < 0)) {
      o = &old_entries[i++];
    } else if (i == old_entries.size() || new_entries[j].field.compare(old_entries[i].field) < 0) {
      n = &new_entries[j++];
    } else {
      o = &old_entries[i++];
      n = &new_entries[j++];
    }
    if (o && n && o->state == n->state && o->key == n->key) continue;  // unchanged
    if (o) {
      if (o->state == kIndexed) {
        auto del = txn.Del(index_, o->key);
        if (!del.ok()) return del.status();
      }
      KISSVDB_RETURN_IF_ERROR(AddToStats(txn, collection, o->field, o->state, -1));
    }
    if (n) {
      if (n->state == kIndexed) KISSVDB_RETURN_IF_ERROR(txn.Put(index_, n->key, ""));
      KISSVDB_RETURN_IF_ERROR(AddToStats(txn, collection, n->field, n->state, +1));
    }
  }
  return Status::OK();
}

Status DocStore::AddToStats(kv::Txn& txn, std::string_view collection, std::string_view field, int state,
                            int64_t delta) {
  auto stats = Stats(txn, collection, field);
  if (!stats.ok()) return stats.status();
  uint64_t counters[3] = {stats->indexed, stats->long_values, stats->unfit};
  counters[state] += static_cast<uint64_t>(delta);
  const std::string key = FieldStatsKey(collection, field);
  if (counters[0] == 0 && counters[1] == 0 && counters[2] == 0) {
    auto del = txn.Del(fields_, key);
    return del.ok() ? Status::OK() : del.status();
  }
  std::string v;
  for (uint64_t c : counters) kv::PutU64LE(&v, c);
  return txn.Put(fields_, key, v);
}

Status DocStore::AddToCount(kv::Txn& txn, std::string_view collection, int64_t delta) {
  auto count = Count(txn, collection);
  if (!count.ok()) return count.status();
  uint64_t n = *count + static_cast<uint64_t>(delta);
  if (n == 0) {
    auto del = txn.Del(collections_, collection);
    return del.ok() ? Status::OK() : del.status();
  }
  std::string v;
  kv::PutU64LE(&v, n);
  return txn.Put(collections_, collection, v);
}

Status DocStore::ApplyPut(kv::Txn& txn, std::string_view collection, std::string_view id, uint64_t revision,
                          const Json& doc, std::string_view heads) {
  std::vector<Entry> old_entries, new_entries;
  Json old_doc;
  auto old = Get(txn, collection, id);
  if (!old.ok()) return old.status();
  if (old->has_value()) {
    old_doc = Json::parse((*old)->json, nullptr, /*allow_exceptions=*/false);
    if (!old_doc.is_object()) return Status::Corruption("stored document is not a JSON object");
    EntriesOf(collection, id, old_doc, &old_entries);
  } else {
    KISSVDB_RETURN_IF_ERROR(AddToCount(txn, collection, +1));
  }
  EntriesOf(collection, id, doc, &new_entries);
  KISSVDB_RETURN_IF_ERROR(UpdateIndex(txn, collection, old_entries, new_entries));
  std::string record;
  EncodeHeader(&record, revision, heads);
  AppendJson(doc, &record);
  return txn.Put(docs_, DocKey(collection, id), record);
}

Status DocStore::ApplyDelete(kv::Txn& txn, std::string_view collection, std::string_view id) {
  auto old = Get(txn, collection, id);
  if (!old.ok()) return old.status();
  if (!old->has_value()) return Status::OK();
  Json old_doc = Json::parse((*old)->json, nullptr, /*allow_exceptions=*/false);
  if (!old_doc.is_object()) return Status::Corruption("stored document is not a JSON object");
  std::vector<Entry> old_entries;
  EntriesOf(collection, id, old_doc, &old_entries);
  KISSVDB_RETURN_IF_ERROR(UpdateIndex(txn, collection, old_entries, {}));
  auto del = txn.Del(docs_, DocKey(collection, id));
  if (!del.ok()) return del.status();
  return AddToCount(txn, collection, -1);
}

Status DocStore::DeletePrefix(kv::Txn& txn, MDB_dbi dbi, std::string_view prefix) {
  auto c = DbCursor::Open(txn, dbi);
  if (!c.ok()) return c.status();
  // Re-seek after every delete rather than rely on LMDB's cursor position
  // after mdb_cursor_del.
  while (c->Seek(prefix) && HasPrefix(c->key(), prefix)) KISSVDB_RETURN_IF_ERROR(c->Del());
  return c->status();
}

Status DocStore::ForEach(const kv::Txn& txn, std::string_view collection,
                         const std::function<Status(std::string_view id, const DocRecordView& record)>& fn) const {
  const std::string prefix = CollectionPrefix(collection);
  auto c = DbCursor::Open(txn, docs_);
  if (!c.ok()) return c.status();
  for (bool v = c->Seek(prefix); v && HasPrefix(c->key(), prefix); v = c->Next()) {
    auto rec = DecodeRecord(c->value());
    if (!rec) return Status::Corruption("document record shorter than its header");
    KISSVDB_RETURN_IF_ERROR(fn(c->key().substr(prefix.size()), *rec));
  }
  return c->status();
}

Status DocStore::ApplyDrop(kv::Txn& txn, std::string_view collection) {
  const std::string prefix = CollectionPrefix(collection);
  KISSVDB_RETURN_IF_ERROR(DeletePrefix(txn, docs_, prefix));
  KISSVDB_RETURN_IF_ERROR(DeletePrefix(txn, index_, prefix));
  KISSVDB_RETURN_IF_ERROR(DeletePrefix(txn, fields_, prefix));
  auto del = txn.Del(collections_, collection);
  return del.ok() ? Status::OK() : del.status();
}

}  // namespace kissvdb::doc
