// Text index mutations on the commit thread: defining and dropping an
// index, and the bound on how much text a write may put in one.
#pragma once

#include "engine/write_context.h"
#include "kissvdb/config.h"
#include "text/types.h"

namespace kissvdb::text_ops {

// Logs the definition (vector_text_index_set / doc_text_index_set). A vector
// collection must exist (NotFound); a document collection need not.
Status Set(WriteContext& ctx, text::Target target, const std::string& collection, const text::TextSpec& spec);
// Logs *_text_index_dropped when the collection has an index; else nothing.
Status Drop(WriteContext& ctx, text::Target target, const std::string& collection, bool* dropped);
// InvalidArgument when `object` (a vector item's meta, a document) would put
// more than limits.max_text_bytes of text in its collection's text index.
Status CheckText(WriteContext& ctx, text::Target target, const std::string& collection, const Json& object,
                 const Limits& limits);
// Whether the collection has a text index, as this group sees it.
Result<bool> HasIndex(WriteContext& ctx, text::Target target, const std::string& collection);

}  // namespace kissvdb::text_ops
