// DocStore: the document model materialized in LMDB.
//
// Named databases (key layouts in doc/index_codec.h, docs/documents.md):
//   "docs"             collection\0id -> u64le revision | document JSON text;
//                      with history on (format 2, doc/doc_history.h), bit 63
//                      of the revision is set and u8 n | n bytes of the
//                      document's VersionHeads come before the JSON
//   "doc_index"        collection\0 field scalar id -> ""   (one entry per
//                      indexed top-level scalar field of every document)
//   "doc_fields"       collection\0field -> u64le indexed | u64le long_values
//                      | u64le unfit   (how complete each field's index is)
//   "doc_collections"  collection -> u64le document count (absent = empty)
//
// Every top-level scalar field (null, bool, number, string) is indexed
// automatically, except strings whose encoding passes
// kMaxIndexedValueBytes (counted as long_values) and entries whose key would
// pass LMDB's key limit (counted as unfit; possible only with raised
// max_collection_len/max_id_len). The counters let the query planner use an
// index only when it is complete for the question asked.
//
// All writes come from Apply* on the commit thread, from events, so the
// contents are a pure function of the log. Reads may run on any thread in
// their own read transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kissvdb/event.h"
#include "kv/lmdb.h"

namespace kissvdb::doc {

// A stored document; json points into LMDB memory (valid for the txn).
struct DocRecordView {
  uint64_t revision = 0;
  std::string_view json;
  std::string_view heads;  // encoded kv::VersionHeads; empty when none
};

// How completely one field of one collection is indexed.
struct FieldStats {
  uint64_t indexed = 0;      // documents with an index entry for the field
  uint64_t long_values = 0;  // strings too long to index
  uint64_t unfit = 0;        // scalars whose index key would be too long
};

class DocStore {
 public:
  // Opens (creating) the named databases inside `txn` (a write txn at boot).
  static Result<DocStore> Open(kv::Txn& txn);

  // Whether an event type belongs to the document model.
  static bool Handles(std::string_view event_type);
  // Applies a doc_updated / doc_deleted / doc_collection_dropped event.
  Status ApplyEvent(kv::Txn& txn, const Event& event);

  Result<std::optional<DocRecordView>> Get(const kv::Txn& txn, std::string_view collection,
                                           std::string_view id) const;
  Result<uint64_t> Count(const kv::Txn& txn, std::string_view collection) const;
  Result<FieldStats> Stats(const kv::Txn& txn, std::string_view collection, std::string_view field) const;
  // Calls fn(id, record) for every document of a collection, in id order,
  // until fn fails.
  Status ForEach(const kv::Txn& txn, std::string_view collection,
                 const std::function<Status(std::string_view id, const DocRecordView& record)>& fn) const;
  // Every non-empty collection with its document count, in name order.
  Status ListCollections(const kv::Txn& txn, std::vector<std::pair<std::string, uint64_t>>* out) const;

  // Replaces (or creates) a document and its index entries; `heads` are
  // the document's history heads (empty: none).
  Status ApplyPut(kv::Txn& txn, std::string_view collection, std::string_view id, uint64_t revision,
                  const Json& doc, std::string_view heads = {});
  // Rewrites a stored document's heads; false when there is no such
  // document (`key` as DocKey).
  Result<bool> SetHeads(kv::Txn& txn, std::string_view key, std::string_view heads);
  // A stored record; nullopt when it is malformed.
  static std::optional<DocRecordView> DecodeRecord(std::string_view raw);
  // Removes a document and its index entries; absent is not an error.
  Status ApplyDelete(kv::Txn& txn, std::string_view collection, std::string_view id);
  // Removes every document, index entry and counter of a collection.
  Status ApplyDrop(kv::Txn& txn, std::string_view collection);

  MDB_dbi docs_dbi() const { return docs_; }
  MDB_dbi index_dbi() const { return index_; }

 private:
  DocStore(MDB_dbi docs, MDB_dbi index, MDB_dbi fields, MDB_dbi collections)
      : docs_(docs), index_(index), fields_(fields), collections_(collections) {}
  struct Entry;
  static void EntriesOf(std::string_view collection, std::string_view id, const Json& doc,
                        std::vector<Entry>* out);
  Status UpdateIndex(kv::Txn& txn, std::string_view collection, const std::vector<Entry>& old_entries,
                     const std::vector<Entry>& new_entries);
  Status AddToStats(kv::Txn& txn, std::string_view collection, std::string_view field, int state, int64_t delta);
  Status AddToCount(kv::Txn& txn, std::string_view collection, int64_t delta);
  Status DeletePrefix(kv::Txn& txn, MDB_dbi dbi, std::string_view prefix);

  MDB_dbi docs_;
  MDB_dbi index_;
  MDB_dbi fields_;
  MDB_dbi collections_;
};

}  // namespace kissvdb::doc
