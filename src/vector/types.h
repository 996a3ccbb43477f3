// Value types of the vector store and the pure checks on user input.
//
// Nothing here includes hnswlib: the engine and the API layer see only these
// types, vector_store.h and validator.h.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kissvdb/status.h"

namespace kissvdb {
class JsonFilter;
using Json = nlohmann::json;
}  // namespace kissvdb

namespace kissvdb::vector {

// How similar two vectors are. Every score is "higher is better".
//   kCosine: vectors are L2-normalised when written and at query time; the
//            index is inner-product; score = cosine similarity in [-1, 1].
//   kDot:    true inner product, no normalisation; score = q·v.
//   kL2:     Euclidean; score = -(squared L2 distance), so 0 is a perfect
//            match and farther points score lower.
enum class Metric : uint8_t { kCosine, kDot, kL2 };

std::string_view MetricName(Metric metric);          // "cosine", "dot", "l2"
Result<Metric> ParseMetric(std::string_view name);   // InvalidArgument if unknown

struct HnswParams {
  uint32_t m = 16;                 // graph degree (layer 0 keeps 2*m links)
  uint32_t ef_construction = 200;  // candidate list while inserting
  uint32_t ef_search = 64;         // default candidate list while searching
};

// What a collection is; carried in full by the "created" event.
struct CollectionSpec {
  std::string name;
  uint32_t dim = 0;
  Metric metric = Metric::kCosine;
  HnswParams hnsw;
};

// Bounds on user input, set by the caller from its configuration.
struct VectorLimits {
  uint32_t max_dim = 4096;
  uint32_t max_k = 256;
  uint32_t max_m = 64;
  uint32_t max_ef_construction = 4096;
  uint32_t max_ef_search = 4096;
};

// One stored point, as written and as returned by Get. For cosine the vector
// is the one the user gave, not the normalised copy in the index.
struct VectorRecord {
  std::string id;
  std::vector<float> vector;
  Json meta;  // null when none was given
};

struct SearchRequest {
  std::span<const float> vector;       // must stay valid during the call
  uint32_t k = 10;
  uint32_t ef = 0;                     // 0: the collection's ef_search
  bool exact = false;                  // brute force over every live point
  const JsonFilter* filter = nullptr;  // null or empty: no filter
  bool include_meta = false;
};

struct SearchHit {
  std::string id;
  float score = 0;
  Json meta;  // null unless include_meta
};

// How a search was answered, for metrics and tests.
struct SearchStats {
  enum class Path { kGraph, kBruteForce } path = Path::kGraph;
  double estimated_selectivity = 1.0;  // fraction of live points the filter matches
  uint64_t scored = 0;                 // candidates scored exactly
};

struct CollectionInfo {
  CollectionSpec spec;
  uint64_t live_count = 0;      // points that can be found
  uint64_t deleted_count = 0;   // freed slots waiting for reuse
  uint64_t capacity = 0;        // slots allocated in the graph
  uint64_t upsert_count = 0;    // writes applied since creation
  uint64_t applied_offset = 0;  // last log offset applied in memory
  uint64_t persisted_offset = 0;  // applied_offset of the files on disk (0: none)
  uint64_t created_at_ms = 0;
  uint64_t updated_at_ms = 0;
  uint64_t file_bytes = 0;      // size of the files on disk
};

// --- Input checks (pure; the engine calls them before logging a change) ---

// Names become directory names (see EncodeCollectionName), so any valid
// UTF-8 is allowed except control characters. Empty names, and names longer
// than 240 bytes once encoded, are rejected; the caller enforces its own
// (shorter) length limit first.
Status ValidateCollectionName(std::string_view name);

// Name, dim in [1, max_dim], M in [2, max_m], ef_* in [1, max_*].
Status ValidateSpec(const CollectionSpec& spec, const VectorLimits& limits);

// Empty id → InvalidArgument. (Length limits are the caller's.)
Status ValidateId(std::string_view id);

// What the checks below need to know of a vector's values, in one pass
// without branches (the compiler vectorizes it: ~0.1 µs for 784 floats,
// where a loop returning at the first bad value took ~1 µs per search).
struct VectorValues {
  bool all_finite;  // no NaN or infinity
  bool all_zero;    // every component is +0 or -0
};
VectorValues InspectValues(std::span<const float> v);

// Empty or longer than max_dim → InvalidArgument; size != dim → DimMismatch;
// NaN/Inf → InvalidArgument; all-zero under cosine → InvalidArgument.
Status ValidateVector(std::span<const float> v, uint32_t dim, Metric metric, const VectorLimits& limits);

// The vector as above, k in [1, max_k], ef in [0, max_ef_search].
Status ValidateSearch(const SearchRequest& req, uint32_t dim, Metric metric, const VectorLimits& limits);

// The directory name of a collection: bytes in [A-Za-z0-9_-] are kept, every
// other byte becomes "%XX" (upper-case hex). The result never contains '.',
// '/' or '\\', so it cannot escape the store's directory or collide with
// temp files.
std::string EncodeCollectionName(std::string_view name);

}  // namespace kissvdb::vector
