#include "engine/text_ops.h"

#include "text/text_defs.h"

namespace kissvdb::text_ops {

Status Set(WriteContext& ctx, text::Target target, const std::string& collection, const text::TextSpec& spec) {
  if (target == text::Target::kVector && !ctx.vectors().Describe(collection)) {
    return Status::NotFound("vector collection \"" + collection + "\" not found");
  }
  return ctx.Emit(target == text::Target::kVector ? event_type::kVectorTextIndexSet : event_type::kDocTextIndexSet,
                  text::SetEventData(collection, spec));
}

Result<bool> HasIndex(WriteContext& ctx, text::Target target, const std::string& collection) {
  auto spec = ctx.stores().text_defs().Get(ctx.txn(), target, collection);
  if (!spec.ok()) return spec.status();
  return spec->has_value();
}

Status Drop(WriteContext& ctx, text::Target target, const std::string& collection, bool* dropped) {
  auto has = HasIndex(ctx, target, collection);
  if (!has.ok()) return has.status();
  *dropped = *has;
  if (!*has) return Status::OK();
  return ctx.Emit(
      target == text::Target::kVector ? event_type::kVectorTextIndexDropped : event_type::kDocTextIndexDropped,
      Json{{"collection", collection}});
}

Status CheckText(WriteContext& ctx, text::Target target, const std::string& collection, const Json& object,
                 const Limits& limits) {
  auto spec = ctx.stores().text_defs().Get(ctx.txn(), target, collection);
  if (!spec.ok()) return spec.status();
  if (!spec->has_value()) return Status::OK();
  const size_t bytes = text::TextBytes(text::ExtractFields(**spec, object));
  if (bytes <= limits.max_text_bytes) return Status::OK();
  return Status::InvalidArgument("the text to index (fields " + text::SpecToJson(**spec)["fields"].dump() + ") is " +
                                 std::to_string(bytes) + " bytes; the limit is " +
                                 std::to_string(limits.max_text_bytes) + " (limits.max_text_bytes)");
}

}  // namespace kissvdb::text_ops
