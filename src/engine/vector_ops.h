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

Status Create(WriteContext& ctx, const vector::CollectionSpec& spec);
Status Drop(WriteContext& ctx, const std::string& collection, bool* dropped);
Status Write(WriteContext& ctx, const std::string& collection, VectorWriteKind kind, const VectorWrite& item);
Status Delete(WriteContext& ctx, const std::string& collection, const std::string& id);

}  // namespace kissvdb::vector_ops
