// DocHistory: every version of every document (history format 2,
// docs/history.md), written with the document in the same LMDB
// transaction: an OffsetHistory (kv/offset_history.h) whose heads live in
// the `docs` records (doc/doc_store.h). An item's key is its DocKey,
// collection 00 id.
//
//   doc_versions       the versions, appended by offset; a collection drop
//                      gives each of its documents a version (kind 3) at
//                      the drop's offset
//   doc_heads_deleted  the heads of documents that have no record
//
// Format 1 kept them by (key, offset) in `doc_history`
// (kv/format1_history.h); Open converts such a table once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "doc/doc_store.h"
#include "kissvdb/event.h"
#include "kv/lmdb.h"
#include "kv/offset_history.h"

namespace kissvdb::doc {

class DocHistory : public kv::OffsetHistory {
 public:
  static Result<DocHistory> Open(kv::Txn& txn, const DocStore& docs, uint64_t applied_offset);

  // Applies a document event (DocStore::Handles) to the documents and
  // their history together.
  Status Apply(kv::Txn& txn, const Event& event);
  // A version at `offset` of every document, which becomes its only head
  // (the start of a history that did not follow every event).
  Status Seed(kv::Txn& txn, uint64_t offset, uint64_t ts_ms);

  // The history's key of a document.
  static std::string Key(std::string_view collection, std::string_view id);

 private:
  DocHistory(const DocStore& docs, const Tables& t)
      : OffsetHistory(docs.docs_dbi(), &RecordHeads, t.versions, t.deleted), docs_(docs) {}
  static Status RecordHeads(std::string_view record, kv::VersionHeads* heads);
  // The heads of a document before a write: from its record, else from
  // the deleted table (erased when `erase`).
  Status HeadsBefore(kv::Txn& txn, std::string_view collection, std::string_view id, bool erase,
                     kv::VersionHeads* heads, bool* live);
  DocStore docs_;
};

}  // namespace kissvdb::doc
