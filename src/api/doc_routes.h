// /v1/doc/*: the document model (original-api.md section 2 "doc";
// docs/documents.md).
//
// Writes take an optional revision precondition from `If-Match: <revision>`
// (quoted or not) or `?if_revision=`; a mismatch is 409 revision_mismatch
// naming the current revision, 0 means "only if absent". Document responses
// carry `ETag: "<revision>"`.
#pragma once

#include "api/api.h"

namespace kissvdb::api {

// GET /v1/doc -> {"collections": [{"collection", "count"}]}
void ListDocCollections(const ApiContext& ctx, Request& req, const Responder& res);
// GET /v1/doc/{collection}?limit=&cursor= -> {"documents": [...], "next_cursor"?}
void ListDocs(const ApiContext& ctx, Request& req, const Responder& res);
// DELETE /v1/doc/{collection} -> {"dropped": bool, "count": n}
void DropDocCollection(const ApiContext& ctx, Request& req, const Responder& res);
// POST /v1/doc/{collection}/find {filter?, limit?, sort?, cursor?}
//   -> {"documents": [{id, doc, revision}], "next_cursor"?, "plan": {...}}
void FindDocs(const ApiContext& ctx, Request& req, const Responder& res);
// GET/PUT/PATCH/DELETE /v1/doc/{collection}/{id}
void GetDoc(const ApiContext& ctx, Request& req, const Responder& res);
void GetDocHistory(const ApiContext& ctx, Request& req, const Responder& res);
void PutDoc(const ApiContext& ctx, Request& req, const Responder& res);
void PatchDoc(const ApiContext& ctx, Request& req, const Responder& res);
void DeleteDoc(const ApiContext& ctx, Request& req, const Responder& res);

}  // namespace kissvdb::api
