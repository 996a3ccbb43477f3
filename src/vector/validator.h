// VectorValidator: decides whether a vector change may be logged.
//
// The engine validates every change on its commit thread before writing the
// event, while earlier changes of the same batch are validated but not yet
// applied. The validator answers from the store plus an overlay of the
// changes it accepted since the last Reset(), so "create c; add c/x; add
// c/x" in one batch fails on the second add.
//
// Each Validate* returns OK and records the change as pending, or returns an
// error and records nothing. Codes: NotFound (collection or id missing),
// AlreadyExists (collection, or id on add), DimMismatch, InvalidArgument.
//
// Thread-safety: not thread-safe; one validator per commit thread. The store
// must not be written by others between Validate* and Reset().
#pragma once

#include <functional>
#include <map>
#include <vector>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "vector/types.h"
#include "vector/vector_store.h"

namespace kissvdb::vector {

class VectorValidator {
 public:
  VectorValidator(const VectorStore* store, const VectorLimits& limits);

  // Forgets the pending changes: call after the batch was applied (or
  // abandoned).
  void Reset();

  // Undo support for nested all-or-nothing units (WriteContext::Atomically):
  // RollbackTo(Mark()) forgets every change accepted after the Mark.
  size_t Mark() const { return undo_.size(); }
  void RollbackTo(size_t mark);

  Status ValidateCreate(const CollectionSpec& spec);
  Status ValidateDrop(std::string_view collection);
  // add: the id must not exist; upsert: it may.
  Status ValidateAdd(std::string_view collection, std::string_view id, std::span<const float> vector, const Json& meta);
  Status ValidateUpsert(std::string_view collection, std::string_view id, std::span<const float> vector,
                        const Json& meta);
  // update: the id must exist; an omitted field keeps its current value.
  // Returns the full record to log (and later apply as an upsert).
  Result<VectorRecord> ValidateUpdate(std::string_view collection, std::string_view id,
                                      const std::optional<std::vector<float>>& vector, const std::optional<Json>& meta);
  Status ValidateDelete(std::string_view collection, std::string_view id);

  // The collection's shape, pending changes included; nullopt if it does
  // not exist.
  struct Shape {
    uint32_t dim = 0;
    Metric metric = Metric::kCosine;
  };
  std::optional<Shape> Describe(std::string_view collection) const;
  bool Contains(std::string_view collection, std::string_view id) const;

 private:
  struct PendingCollection {
    std::optional<Shape> shape;  // nullopt: dropped in this batch
  };
  using IdKey = std::pair<std::string, std::string>;  // (collection, id)

  Status CheckWrite(std::string_view collection, std::string_view id, std::span<const float> vector,
                    std::optional<Shape>* shape) const;
  Result<VectorRecord> Current(std::string_view collection, std::string_view id) const;
  void SetId(const IdKey& key, std::optional<VectorRecord> value);
  void SetCollection(const std::string& name, PendingCollection pending);
  void Record(std::string_view collection, std::string_view id, std::span<const float> vector, const Json& meta);

  const VectorStore* const store_;
  const VectorLimits limits_;
  std::map<std::string, PendingCollection, std::less<>> collections_;  // created or dropped in the batch
  std::map<IdKey, std::optional<VectorRecord>> ids_;                   // written (record) or deleted (nullopt)
  std::vector<std::function<void()>> undo_;                            // restores the maps, newest last
};

}  // namespace kissvdb::vector
