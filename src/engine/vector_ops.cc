#include "engine/vector_ops.h"

#include "engine/text_ops.h"
#include "engine/vector_events.h"
#include "util/utf8.h"

namespace kissvdb::vector_ops {

Status ValidateCollectionName(const std::string& name, const Limits& limits) {
  if (name.empty() || name.size() > limits.max_collection_len) {
    return Status::InvalidArgument("collection name must be 1.." + std::to_string(limits.max_collection_len) +
                                   " bytes");
  }
  if (!utf8::IsValid(name)) return Status::InvalidArgument("collection name is not valid UTF-8");
  return vector::ValidateCollectionName(name);
}

Status ValidateIdLength(const std::string& id, const Limits& limits) {
  if (id.empty() || id.size() > limits.max_id_len) {
    return Status::InvalidArgument("id must be 1.." + std::to_string(limits.max_id_len) + " bytes");
  }
  if (!utf8::IsValid(id)) return Status::InvalidArgument("id is not valid UTF-8");
  return Status::OK();
}

Status Create(WriteContext& ctx, const vector::CollectionSpec& spec, const std::optional<text::TextSpec>& text) {
  KISSVDB_RETURN_IF_ERROR(ctx.vectors().ValidateCreate(spec));
  Json data = vector_events::CreatedData(spec);
  if (text) data["text"] = text::SpecToJson(*text);
  return ctx.Emit(event_type::kVectorCollectionCreated, std::move(data));
}

Status Drop(WriteContext& ctx, const std::string& collection, bool* dropped) {
  Status st = ctx.vectors().ValidateDrop(collection);
  *dropped = st.ok();
  if (st.code() == Code::kNotFound) return Status::OK();
  KISSVDB_RETURN_IF_ERROR(st);
  return ctx.Emit(event_type::kVectorCollectionDropped, Json{{"collection", collection}});
}

Status Write(WriteContext& ctx, const std::string& collection, VectorWriteKind kind, const VectorWrite& item,
             const Limits& limits) {
  auto& v = ctx.vectors();
  static const std::vector<float> kNoVector;
  const Json meta = item.meta ? *item.meta : Json();
  switch (kind) {
    case VectorWriteKind::kAdd:
    case VectorWriteKind::kUpsert: {
      if (!item.vector) return Status::InvalidArgument("vector is required");
      Status st = kind == VectorWriteKind::kAdd ? v.ValidateAdd(collection, item.id, *item.vector, meta)
                                                : v.ValidateUpsert(collection, item.id, *item.vector, meta);
      KISSVDB_RETURN_IF_ERROR(st);
      KISSVDB_RETURN_IF_ERROR(text_ops::CheckText(ctx, text::Target::kVector, collection, meta, limits));
      return ctx.Emit(kind == VectorWriteKind::kAdd ? event_type::kVectorAdded : event_type::kVectorUpserted,
                      vector_events::RecordData(collection, item.id, meta), *item.vector);
    }
    case VectorWriteKind::kUpdate: {
      auto merged = v.ValidateUpdate(collection, item.id, item.vector, item.meta);
      if (!merged.ok()) return merged.status();
      if (item.meta) {
        KISSVDB_RETURN_IF_ERROR(text_ops::CheckText(ctx, text::Target::kVector, collection, merged->meta, limits));
      }
      return ctx.Emit(event_type::kVectorUpdated, vector_events::RecordData(collection, item.id, merged->meta),
                      std::move(merged->vector));
    }
  }
  return Status::Internal("unknown vector write kind");
}

Status Delete(WriteContext& ctx, const std::string& collection, const std::string& id) {
  KISSVDB_RETURN_IF_ERROR(ctx.vectors().ValidateDelete(collection, id));
  return ctx.Emit(event_type::kVectorDeleted, Json{{"collection", collection}, {"id", id}});
}

}  // namespace kissvdb::vector_ops
