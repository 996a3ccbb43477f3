// The vector model's mutations: validation (through the group's
// VectorValidator overlay) and the events they emit.
#pragma once

#include "engine/write_context.h"
#include "kissvdb/config.h"
#include "kissvdb/engine.h"

namespace kissvdb::vector_ops {

// Name/id length and character checks from the configured limits.
Status ValidateCollectionName(const std::string& name, const Limits& limits);
Status ValidateIdLength(const std::string& id, const Limits& limits);

// With `text`, the created event carries the collection's text index.
Status Create(WriteContext& ctx, const vector::CollectionSpec& spec, const std::optional<text::TextSpec>& text);
Status Drop(WriteContext& ctx, const std::string& collection, bool* dropped);
// The item's meta must fit the collection's text index (limits.max_text_bytes).
Status Write(WriteContext& ctx, const std::string& collection, VectorWriteKind kind, const VectorWrite& item,
             const Limits& limits);
Status Delete(WriteContext& ctx, const std::string& collection, const std::string& id);

}  // namespace kissvdb::vector_ops
