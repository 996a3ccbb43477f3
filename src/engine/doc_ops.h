// The document model's mutations: validation + the events they emit.
//
// Each function runs on the commit thread inside WriteContext::Atomically
// and either emits the events of its change or returns an error having
// emitted nothing that survives. Events carry the full resulting document,
// so applying them needs no validation and replay is deterministic:
//   doc_updated             {collection, id, revision, doc}
//   doc_deleted             {collection, id, revision}   (the removed revision)
//   doc_collection_dropped  {collection}
#pragma once

#include <string>

#include "engine/write_context.h"
#include "kissvdb/config.h"
#include "kissvdb/engine.h"

namespace kissvdb::doc_ops {

// A collection name or document id: 1..max bytes of UTF-8, no '/', no
// control characters, not "." or "..".
Status ValidateName(const std::string& name, uint32_t max_len, const char* what);
Status ValidateCollection(const std::string& collection, const Limits& limits);
Status ValidateDocId(const std::string& collection, const std::string& id, const Limits& limits);
// Checks a put before it is queued; *doc_json receives the serialized
// document (the stored form), whose size is checked against max_json_bytes.
Status ValidatePut(const DocPut& put, const Limits& limits, std::string* doc_json);
Status ValidatePatch(const DocPatch& patch, const Limits& limits);

// Put with optional CAS. `doc_json` is put.doc serialized. The document's
// text for its collection's text index must fit limits.max_text_bytes.
Status Put(WriteContext& ctx, DocPut& put, std::string doc_json, const Limits& limits, DocItem* result);
// RFC 7386 merge of the patch into the current document (see DocPatch for a
// missing document); the result must still fit max_json_bytes (and its text
// max_text_bytes).
Status Patch(WriteContext& ctx, const DocPatch& patch, const Limits& limits, DocItem* result);
// Removes a document; *deleted = false (and no event) when it is absent.
Status Delete(WriteContext& ctx, const std::string& collection, const std::string& id,
              std::optional<uint64_t> if_revision, bool* deleted);
// Drops a collection and its text index; *dropped = its document count (no
// event when it has neither documents nor a text index).
Status Drop(WriteContext& ctx, const std::string& collection, uint64_t* dropped);

}  // namespace kissvdb::doc_ops
