// The payloads of the vector model's events, and how they are applied.
//
//   vector_collection_created {collection, dim, metric, m, ef_construction, ef_search, text?}
//   vector_text_index_set {collection, fields, tokenizer}, vector_text_index_dropped {collection}
//     (text/text_defs.h; the vector store ignores them)
//   vector_collection_dropped {collection}
//   vector_added | vector_upserted | vector_updated {collection, id, meta}
//     + the vector in Event::floats
//   vector_deleted {collection, id}
//
// Vectors are logged as float32 bytes (docs/wal-format.md, version 3; older
// logs hold them as JSON numbers of the exact float32 value, read into
// Event::floats), so replay rebuilds bit-identical vectors. Updates carry
// the merged full record, so every write applies as an upsert.
#pragma once

#include "kissvdb/event.h"
#include "kissvdb/status.h"
#include "vector/types.h"
#include "vector/vector_store.h"

namespace kissvdb::vector_events {

Json CreatedData(const vector::CollectionSpec& spec);
// The data of a vector record event (its vector goes in Event::floats).
Json RecordData(const std::string& collection, const std::string& id, const Json& meta);

// True for the event types below; ApplyInMemory ignores the rest.
bool IsVectorEvent(const std::string& type);
// Applies a vector event to the store (Corruption on a malformed payload).
Status Apply(vector::VectorStore& store, const Event& event);

}  // namespace kissvdb::vector_events
