#include "vector/validator.h"

namespace kissvdb::vector {

namespace {
Status NoCollection(std::string_view name) {
  return Status::NotFound("vector collection \"" + std::string(name) + "\" not found");
}
Status NoId(std::string_view collection, std::string_view id) {
  return Status::NotFound("id \"" + std::string(id) + "\" not found in vector collection \"" +
                          std::string(collection) + "\"");
}
}  // namespace

VectorValidator::VectorValidator(const VectorStore* store, const VectorLimits& limits)
    : store_(store), limits_(limits) {}

void VectorValidator::Reset() {
  collections_.clear();
  ids_.clear();
  undo_.clear();
}

void VectorValidator::RollbackTo(size_t mark) {
  while (undo_.size() > mark) {
    undo_.back()();
    undo_.pop_back();
  }
}

void VectorValidator::SetId(const IdKey& key, std::optional<VectorRecord> value) {
  auto it = ids_.find(key);
  if (it == ids_.end()) {
    undo_.push_back([this, key] { ids_.erase(key); });
    ids_.emplace(key, std::move(value));
  } else {
    undo_.push_back([this, key, old = std::move(it->second)]() mutable { ids_[key] = std::move(old); });
    it->second = std::move(value);
  }
}

void VectorValidator::SetCollection(const std::string& name, PendingCollection pending) {
  auto it = collections_.find(name);
  if (it == collections_.end()) {
    undo_.push_back([this, name] { collections_.erase(name); });
    collections_.emplace(name, pending);
  } else {
    undo_.push_back([this, name, old = it->second] { collections_[name] = old; });
    it->second = pending;
  }
  // Ids pending for an earlier incarnation of this collection are gone.
  for (auto id = ids_.begin(); id != ids_.end();) {
    if (id->first.first != name) {
      ++id;
      continue;
    }
    undo_.push_back([this, key = id->first, old = std::move(id->second)]() mutable { ids_[key] = std::move(old); });
    id = ids_.erase(id);
  }
}

std::optional<VectorValidator::Shape> VectorValidator::Describe(std::string_view collection) const {
  auto it = collections_.find(collection);
  if (it != collections_.end()) return it->second.shape;
  auto info = store_->Info(collection);
  if (!info) return std::nullopt;
  return Shape{info->spec.dim, info->spec.metric};
}

bool VectorValidator::Contains(std::string_view collection, std::string_view id) const {
  auto it = ids_.find(IdKey(collection, id));
  if (it != ids_.end()) return it->second.has_value();
  // A collection created or dropped in this batch has no ids from the store.
  if (collections_.find(collection) != collections_.end()) return false;
  return store_->Contains(collection, id);
}

Result<VectorRecord> VectorValidator::Current(std::string_view collection, std::string_view id) const {
  auto it = ids_.find(IdKey(collection, id));
  if (it != ids_.end()) {
    if (!it->second) return NoId(collection, id);
    return *it->second;
  }
  if (collections_.find(collection) != collections_.end()) return NoId(collection, id);
  return store_->Get(collection, id);
}

void VectorValidator::Record(std::string_view collection, std::string_view id, std::span<const float> vector,
                             const Json& meta) {
  SetId(IdKey(collection, id), VectorRecord{std::string(id), {vector.begin(), vector.end()}, meta});
}

Status VectorValidator::ValidateCreate(const CollectionSpec& spec) {
  KISSVDB_RETURN_IF_ERROR(ValidateSpec(spec, limits_));
  if (Describe(spec.name)) {
    return Status(Code::kAlreadyExists, "vector collection \"" + spec.name + "\" already exists");
  }
  SetCollection(spec.name, PendingCollection{Shape{spec.dim, spec.metric}});
  return Status::OK();
}

Status VectorValidator::ValidateDrop(std::string_view collection) {
  if (!Describe(collection)) return NoCollection(collection);
  SetCollection(std::string(collection), PendingCollection{std::nullopt});
  return Status::OK();
}

Status VectorValidator::CheckWrite(std::string_view collection, std::string_view id, std::span<const float> vector,
                                   std::optional<Shape>* shape) const {
  *shape = Describe(collection);
  if (!*shape) return NoCollection(collection);
  KISSVDB_RETURN_IF_ERROR(ValidateId(id));
  return ValidateVector(vector, (*shape)->dim, (*shape)->metric, limits_);
}

Status VectorValidator::ValidateAdd(std::string_view collection, std::string_view id, std::span<const float> vector,
                                    const Json& meta) {
  std::optional<Shape> shape;
  KISSVDB_RETURN_IF_ERROR(CheckWrite(collection, id, vector, &shape));
  if (Contains(collection, id)) {
    return Status(Code::kAlreadyExists,
                  "id \"" + std::string(id) + "\" already exists in vector collection \"" + std::string(collection) + "\"");
  }
  Record(collection, id, vector, meta);
  return Status::OK();
}

Status VectorValidator::ValidateUpsert(std::string_view collection, std::string_view id,
                                       std::span<const float> vector, const Json& meta) {
  std::optional<Shape> shape;
  KISSVDB_RETURN_IF_ERROR(CheckWrite(collection, id, vector, &shape));
  Record(collection, id, vector, meta);
  return Status::OK();
}

Result<VectorRecord> VectorValidator::ValidateUpdate(std::string_view collection, std::string_view id,
                                                     const std::optional<std::vector<float>>& vector,
                                                     const std::optional<Json>& meta) {
  std::optional<Shape> shape = Describe(collection);
  if (!shape) return NoCollection(collection);
  KISSVDB_RETURN_IF_ERROR(ValidateId(id));
  if (vector) KISSVDB_RETURN_IF_ERROR(ValidateVector(*vector, shape->dim, shape->metric, limits_));
  auto current = Current(collection, id);
  if (!current.ok()) return current.status();
  VectorRecord merged = std::move(current.value());
  if (vector) merged.vector = *vector;
  if (meta) merged.meta = *meta;
  Record(collection, id, merged.vector, merged.meta);
  return merged;
}

Status VectorValidator::ValidateDelete(std::string_view collection, std::string_view id) {
  if (!Describe(collection)) return NoCollection(collection);
  if (!Contains(collection, id)) return NoId(collection, id);
  SetId(IdKey(collection, id), std::nullopt);
  return Status::OK();
}

}  // namespace kissvdb::vector
