// TextDefs: the definition of every text index, materialized in LMDB.
//
// Named database "text_defs": key = 'v' (vector) or 'd' (doc) followed by
// the collection name; value = {"fields": [...], "tokenizer": "..."} as
// compact JSON. It is the source the text index (text/text_index.h) is
// rebuilt from, and what write validation reads to bound indexed text.
//
// Events (all carry "collection"):
//   vector_collection_created   with "text": {fields, tokenizer}: defines it
//   vector_text_index_set       {collection, fields, tokenizer}: (re)defines
//   doc_text_index_set          the same for a document collection
//   vector_text_index_dropped, doc_text_index_dropped: removes it
//   vector_collection_dropped, doc_collection_dropped: removes it too
// Like every store, written only by ApplyEvent on the commit thread (and
// replay), so the contents are a pure function of the log.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kissvdb/event.h"
#include "kv/lmdb.h"
#include "text/types.h"

namespace kissvdb::text {

struct IndexDef {
  Target target = Target::kVector;
  std::string collection;
  TextSpec spec;
};

class TextDefs {
 public:
  // Opens (creating) the named database inside a write transaction.
  static Result<TextDefs> Open(kv::Txn& txn);

  // Whether an event can change a definition (see the list above).
  static bool Handles(std::string_view event_type);
  // The definition an event sets, if it sets one (nullopt otherwise; for a
  // vector_collection_created without "text" too). Corruption if malformed.
  static Result<std::optional<IndexDef>> DefinedBy(const Event& event);
  Status ApplyEvent(kv::Txn& txn, const Event& event);

  Result<std::optional<TextSpec>> Get(const kv::Txn& txn, Target target, std::string_view collection) const;
  // Every definition, vector ones first, each kind in collection order.
  Status List(const kv::Txn& txn, std::vector<IndexDef>* out) const;

 private:
  explicit TextDefs(MDB_dbi dbi) : dbi_(dbi) {}
  MDB_dbi dbi_;
};

// The payload of a *_text_index_set event.
Json SetEventData(const std::string& collection, const TextSpec& spec);

}  // namespace kissvdb::text
