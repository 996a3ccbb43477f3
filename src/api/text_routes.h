// Handlers of the text index routes (text.cc; docs/search.md); the table
// is in routes.cc. Vector text and hybrid search is a form of
// POST /v1/vector/{collection}/search (vector.cc, text_args.h).
#pragma once

#include "api/api.h"

namespace kissvdb::api {

// GET /v1/text -> {"indexes": [{target, collection, fields, tokenizer, items}]}
void ListTextIndexes(const ApiContext& ctx, Request& req, const Responder& res);
// GET /v1/text/{target}/{collection} -> one index (404 without one)
void GetTextIndex(const ApiContext& ctx, Request& req, const Responder& res);
// PUT /v1/text/{target}/{collection} {fields, tokenizer?} -> the index,
// built from the collection's current contents
void PutTextIndex(const ApiContext& ctx, Request& req, const Responder& res);
// DELETE /v1/text/{target}/{collection} -> {"deleted": bool}
void DeleteTextIndex(const ApiContext& ctx, Request& req, const Responder& res);
// POST /v1/doc/{collection}/search {text, filter?, limit?, highlight?, text_syntax?}
//   -> {"documents": [{id, revision, doc, score, snippet?}]}
void SearchDocsText(const ApiContext& ctx, Request& req, const Responder& res);

}  // namespace kissvdb::api
