#include "engine/doc_ops.h"

#include "engine/text_ops.h"
#include "util/json_writer.h"
#include "util/utf8.h"

namespace kissvdb::doc_ops {

namespace {

// The revision a CAS compares against: 0 when the document is absent.
Result<uint64_t> CurrentRevision(WriteContext& ctx, const std::string& collection, const std::string& id) {
  auto rec = ctx.stores().docs().Get(ctx.txn(), collection, id);
  if (!rec.ok()) return rec.status();
  return rec->has_value() ? (*rec)->revision : uint64_t{0};
}

Status CheckRevision(std::optional<uint64_t> if_revision, uint64_t current) {
  if (!if_revision || *if_revision == current) return Status::OK();
  std::string now = current ? "current revision is " + std::to_string(current) : "the document does not exist";
  return Status(Code::kRevisionMismatch, "if_revision " + std::to_string(*if_revision) + " does not match: " + now);
}

Status TooLarge(size_t size, uint64_t limit) {
  return Status(Code::kPayloadTooLarge, "document is " + std::to_string(size) + " bytes serialized; the limit is " +
                                            std::to_string(limit));
}

Status EmitUpdated(WriteContext& ctx, const std::string& collection, const std::string& id, uint64_t revision,
                   Json doc) {
  return ctx.Emit(event_type::kDocUpdated,
                  Json{{"collection", collection}, {"id", id}, {"revision", revision}, {"doc", std::move(doc)}});
}

}  // namespace

Status ValidateName(const std::string& name, uint32_t max_len, const char* what) {
  if (name.empty()) return Status::InvalidArgument(std::string(what) + " must not be empty");
  if (name.size() > max_len) {
    return Status::InvalidArgument(std::string(what) + " is " + std::to_string(name.size()) +
                                   " bytes; the limit is " + std::to_string(max_len));
  }
  if (!utf8::IsValid(name)) return Status::InvalidArgument(std::string(what) + " is not valid UTF-8");
  if (name == "." || name == "..") return Status::InvalidArgument(std::string(what) + " must not be . or ..");
  for (unsigned char c : name) {
    if (c == '/' || c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument(std::string(what) + " must not contain '/' or control characters");
    }
  }
  return Status::OK();
}

Status ValidateCollection(const std::string& collection, const Limits& limits) {
  return ValidateName(collection, limits.max_collection_len, "collection");
}

Status ValidateDocId(const std::string& collection, const std::string& id, const Limits& limits) {
  KISSVDB_RETURN_IF_ERROR(ValidateCollection(collection, limits));
  return ValidateName(id, limits.max_id_len, "id");
}

Status ValidatePut(const DocPut& put, const Limits& limits, std::string* doc_json) {
  KISSVDB_RETURN_IF_ERROR(ValidateDocId(put.collection, put.id, limits));
  if (!put.doc.is_object()) return Status::InvalidArgument("the document must be a JSON object");
  *doc_json = DumpJson(put.doc);
  if (doc_json->size() > limits.max_json_bytes) return TooLarge(doc_json->size(), limits.max_json_bytes);
  return Status::OK();
}

Status ValidatePatch(const DocPatch& patch, const Limits& limits) {
  KISSVDB_RETURN_IF_ERROR(ValidateDocId(patch.collection, patch.id, limits));
  if (!patch.patch.is_object()) return Status::InvalidArgument("the merge patch must be a JSON object");
  return Status::OK();
}

Status Put(WriteContext& ctx, DocPut& put, std::string doc_json, const Limits& limits, DocItem* result) {
  auto current = CurrentRevision(ctx, put.collection, put.id);
  if (!current.ok()) return current.status();
  KISSVDB_RETURN_IF_ERROR(CheckRevision(put.if_revision, *current));
  KISSVDB_RETURN_IF_ERROR(text_ops::CheckText(ctx, text::Target::kDoc, put.collection, put.doc, limits));
  result->id = put.id;
  result->revision = *current + 1;
  result->doc_json = std::move(doc_json);
  return EmitUpdated(ctx, put.collection, put.id, result->revision, std::move(put.doc));
}

Status Patch(WriteContext& ctx, const DocPatch& patch, const Limits& limits, DocItem* result) {
  auto rec = ctx.stores().docs().Get(ctx.txn(), patch.collection, patch.id);
  if (!rec.ok()) return rec.status();
  const uint64_t current = rec->has_value() ? (*rec)->revision : 0;
  KISSVDB_RETURN_IF_ERROR(CheckRevision(patch.if_revision, current));
  Json doc = Json::object();
  if (rec->has_value()) {
    doc = Json::parse((*rec)->json, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return Status::Corruption("stored document is not a JSON object");
  } else if (!patch.upsert && patch.if_revision != uint64_t{0}) {
    return Status::NotFound("document not found (PATCH with upsert=true or if_revision 0 creates it)");
  }
  doc.merge_patch(patch.patch);
  std::string doc_json = DumpJson(doc);
  if (doc_json.size() > limits.max_json_bytes) return TooLarge(doc_json.size(), limits.max_json_bytes);
  KISSVDB_RETURN_IF_ERROR(text_ops::CheckText(ctx, text::Target::kDoc, patch.collection, doc, limits));
  result->id = patch.id;
  result->revision = current + 1;
  result->doc_json = std::move(doc_json);
  return EmitUpdated(ctx, patch.collection, patch.id, result->revision, std::move(doc));
}

Status Delete(WriteContext& ctx, const std::string& collection, const std::string& id,
              std::optional<uint64_t> if_revision, bool* deleted) {
  auto current = CurrentRevision(ctx, collection, id);
  if (!current.ok()) return current.status();
  KISSVDB_RETURN_IF_ERROR(CheckRevision(if_revision, *current));
  *deleted = *current != 0;
  if (!*deleted) return Status::OK();
  return ctx.Emit(event_type::kDocDeleted, Json{{"collection", collection}, {"id", id}, {"revision", *current}});
}

Status Drop(WriteContext& ctx, const std::string& collection, uint64_t* dropped) {
  auto count = ctx.stores().docs().Count(ctx.txn(), collection);
  if (!count.ok()) return count.status();
  *dropped = *count;
  auto indexed = text_ops::HasIndex(ctx, text::Target::kDoc, collection);
  if (!indexed.ok()) return indexed.status();
  if (*count == 0 && !*indexed) return Status::OK();
  return ctx.Emit(event_type::kDocCollectionDropped, Json{{"collection", collection}});
}

}  // namespace kissvdb::doc_ops
