#include "doc/doc_history.h"

#include <utility>
#include <vector>

#include "doc/index_codec.h"
#include "util/json_writer.h"

namespace kissvdb::doc {

namespace {
Status Malformed(const Event& event, const std::string& what) {
  return Status::Corruption("event " + std::to_string(event.offset) + " (" + event.type +
                            ") has a malformed payload: " + what);
}
}  // namespace

std::string DocHistory::Key(std::string_view collection, std::string_view id) { return DocKey(collection, id); }

Status DocHistory::RecordHeads(std::string_view record, kv::VersionHeads* heads) {
  auto rec = DocStore::DecodeRecord(record);
  if (!rec) return Status::Corruption("document record shorter than its header");
  return DecodeHeads(rec->heads, heads);
}

Result<DocHistory> DocHistory::Open(kv::Txn& txn, const DocStore& docs, uint64_t applied_offset) {
  auto tables = OpenTables(txn, "doc_versions", "doc_heads_deleted");
  if (!tables.ok()) return tables.status();
  DocHistory h(docs, *tables);
  KISSVDB_RETURN_IF_ERROR(h.OpenOrConvert(
      txn, "doc_history", applied_offset, [&](const std::string& key, const kv::VersionHeads& heads) {
        return h.docs_.SetHeads(txn, key, heads.Encode());
      }));
  return h;
}

Status DocHistory::HeadsBefore(kv::Txn& txn, std::string_view collection, std::string_view id, bool erase,
                               kv::VersionHeads* heads, bool* live) {
  auto rec = docs_.Get(txn, collection, id);
  if (!rec.ok()) return rec.status();
  *live = rec->has_value();
  if (*live) return DecodeHeads((*rec)->heads, heads);
  return DeletedHeads(txn, Key(collection, id), erase, heads);
}

Status DocHistory::Apply(kv::Txn& txn, const Event& event) {
  const Json& d = event.data;
  auto versions = kv::Cursor::Open(txn, this->versions());
  if (!versions.ok()) return versions.status();
  try {
    const std::string& collection = d.at("collection").get_ref<const std::string&>();
    if (event.type == event_type::kDocCollectionDropped) {
      // Every document gets a deletion at the drop's offset, in id order.
      std::vector<std::pair<std::string, std::string>> gone;  // key, heads
      KISSVDB_RETURN_IF_ERROR(docs_.ForEach(txn, collection, [&](std::string_view id, const DocRecordView& r) {
        kv::VersionHeads heads;
        KISSVDB_RETURN_IF_ERROR(DecodeHeads(r.heads, &heads));
        if (event.offset <= heads.newest()) return Status::Corruption("history: a drop older than a document's");
        gone.emplace_back(Key(collection, id), heads.Encode());
        return Status::OK();
      }));
      for (const auto& [key, encoded] : gone) {
        kv::VersionHeads heads;
        KISSVDB_RETURN_IF_ERROR(DecodeHeads(encoded, &heads));
        KISSVDB_RETURN_IF_ERROR(Append(*versions, key, event.offset, &heads, event.ts_ms, 0, 0, kDropped, ""));
        KISSVDB_RETURN_IF_ERROR(SetDeletedHeads(txn, key, heads));
      }
      return docs_.ApplyDrop(txn, collection);
    }
    const std::string& id = d.at("id").get_ref<const std::string&>();
    const std::string key = Key(collection, id);
    kv::VersionHeads heads;
    bool live;
    if (event.type == event_type::kDocDeleted) {
      KISSVDB_RETURN_IF_ERROR(HeadsBefore(txn, collection, id, /*erase=*/false, &heads, &live));
      if (event.offset <= heads.newest()) return Status::Corruption("history: a deletion older than its document's");
      KISSVDB_RETURN_IF_ERROR(Append(*versions, key, event.offset, &heads, event.ts_ms, 0, 0, kDeleted, ""));
      KISSVDB_RETURN_IF_ERROR(SetDeletedHeads(txn, key, heads));
      return docs_.ApplyDelete(txn, collection, id);
    }
    const Json& doc = d.at("doc");
    if (!doc.is_object()) return Malformed(event, "doc is not an object");
    const uint64_t revision = d.at("revision").get<uint64_t>();
    KISSVDB_RETURN_IF_ERROR(HeadsBefore(txn, collection, id, /*erase=*/true, &heads, &live));
    if (event.offset <= heads.newest()) return Status::Corruption("history: a put older than its document's");
    KISSVDB_RETURN_IF_ERROR(
        Append(*versions, key, event.offset, &heads, event.ts_ms, revision, 0, kPut, DumpJson(doc)));
    return docs_.ApplyPut(txn, collection, id, revision, doc, heads.Encode());
  } catch (const Json::exception& e) {
    return Malformed(event, e.what());
  }
}

Status DocHistory::Seed(kv::Txn& txn, uint64_t offset, uint64_t ts_ms) {
  KISSVDB_RETURN_IF_ERROR(ClearDeleted(txn));
  auto versions = kv::Cursor::Open(txn, this->versions());
  if (!versions.ok()) return versions.status();
  std::vector<std::pair<std::string, uint64_t>> collections;
  KISSVDB_RETURN_IF_ERROR(docs_.ListCollections(txn, &collections));
  for (const auto& listed : collections) {
    const std::string& collection = listed.first;  // a lambda below names it: not a structured binding
    std::vector<std::pair<std::string, std::pair<uint64_t, std::string>>> present;  // key, revision, json
    KISSVDB_RETURN_IF_ERROR(docs_.ForEach(txn, collection, [&](std::string_view id, const DocRecordView& r) {
      present.emplace_back(Key(collection, id), std::make_pair(r.revision, std::string(r.json)));
      return Status::OK();
    }));
    for (const auto& [key, doc] : present) {
      kv::VersionHeads heads;
      KISSVDB_RETURN_IF_ERROR(Append(*versions, key, offset, &heads, ts_ms, doc.first, 0, kPut, doc.second));
      auto live = docs_.SetHeads(txn, key, heads.Encode());
      if (!live.ok()) return live.status();
    }
  }
  return Status::OK();
}

}  // namespace kissvdb::doc
