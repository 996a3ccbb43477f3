#include "vector/types.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "util/utf8.h"

namespace kissvdb::vector {

std::string_view MetricName(Metric metric) {
  switch (metric) {
    case Metric::kCosine: return "cosine";
    case Metric::kDot: return "dot";
    case Metric::kL2: return "l2";
  }
  return "cosine";
}

Result<Metric> ParseMetric(std::string_view name) {
  if (name == "cosine") return Metric::kCosine;
  if (name == "dot") return Metric::kDot;
  if (name == "l2") return Metric::kL2;
  return Status::InvalidArgument("unknown metric \"" + std::string(name) + "\" (want cosine, dot or l2)");
}

namespace {
constexpr size_t kMaxEncodedNameLen = 240;  // below NAME_MAX (255) with room for suffixes
}  // namespace

Status ValidateCollectionName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("collection name is empty");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return Status::InvalidArgument("collection name contains a control character");
  }
  if (!utf8::IsValid(name)) return Status::InvalidArgument("collection name is not valid UTF-8");
  if (EncodeCollectionName(name).size() > kMaxEncodedNameLen) {
    return Status::InvalidArgument("collection name is too long to be a directory name");
  }
  return Status::OK();
}

namespace {
Status CheckRange(const char* what, uint32_t v, uint32_t lo, uint32_t hi) {
  if (v < lo || v > hi) {
    return Status::InvalidArgument(std::string(what) + " must be in [" + std::to_string(lo) + ", " +
                                   std::to_string(hi) + "], got " + std::to_string(v));
  }
  return Status::OK();
}
}  // namespace

Status ValidateSpec(const CollectionSpec& spec, const VectorLimits& limits) {
  KISSVDB_RETURN_IF_ERROR(ValidateCollectionName(spec.name));
  KISSVDB_RETURN_IF_ERROR(CheckRange("dim", spec.dim, 1, limits.max_dim));
  KISSVDB_RETURN_IF_ERROR(CheckRange("m", spec.hnsw.m, 2, limits.max_m));
  KISSVDB_RETURN_IF_ERROR(CheckRange("ef_construction", spec.hnsw.ef_construction, 1, limits.max_ef_construction));
  KISSVDB_RETURN_IF_ERROR(CheckRange("ef_search", spec.hnsw.ef_search, 1, limits.max_ef_search));
  return Status::OK();
}

Status ValidateId(std::string_view id) {
  if (id.empty()) return Status::InvalidArgument("id is empty");
  return Status::OK();
}

VectorValues InspectValues(std::span<const float> v) {
  // Exponent bits all ones: infinity or NaN. Bits other than the sign: not
  // zero. Four floats at a time in GCC/Clang vector types (SSE2 on x86-64):
  // at -O2 GCC does not vectorize the plain loop.
  using U32x4 = uint32_t __attribute__((vector_size(16)));
  constexpr uint32_t kExponent = 0x7f800000u, kMagnitude = 0x7fffffffu;
  U32x4 non_finite4 = {0, 0, 0, 0}, non_zero4 = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= v.size(); i += 4) {
    U32x4 bits;
    std::memcpy(&bits, v.data() + i, sizeof bits);
    non_finite4 |= (U32x4)((bits & kExponent) == kExponent);
    non_zero4 |= bits & kMagnitude;
  }
  uint32_t non_finite = non_finite4[0] | non_finite4[1] | non_finite4[2] | non_finite4[3];
  uint32_t non_zero = non_zero4[0] | non_zero4[1] | non_zero4[2] | non_zero4[3];
  for (; i < v.size(); ++i) {
    const uint32_t bits = std::bit_cast<uint32_t>(v[i]);
    non_finite |= static_cast<uint32_t>((bits & kExponent) == kExponent);
    non_zero |= bits & kMagnitude;
  }
  return {non_finite == 0, non_zero == 0};
}

Status ValidateVector(std::span<const float> v, uint32_t dim, Metric metric, const VectorLimits& limits) {
  if (v.empty()) return Status::InvalidArgument("vector is empty");
  if (v.size() > limits.max_dim) {
    return Status::InvalidArgument("vector has " + std::to_string(v.size()) + " components, more than the limit " +
                                   std::to_string(limits.max_dim));
  }
  if (v.size() != dim) {
    return Status(Code::kDimMismatch,
                  "vector has dimension " + std::to_string(v.size()) + ", collection has " + std::to_string(dim));
  }
  const VectorValues values = InspectValues(v);
  if (!values.all_finite) return Status::InvalidArgument("vector contains NaN or infinity");
  if (metric == Metric::kCosine && values.all_zero) {
    return Status::InvalidArgument("a zero vector has no direction under the cosine metric");
  }
  return Status::OK();
}

Status ValidateSearch(const SearchRequest& req, uint32_t dim, Metric metric, const VectorLimits& limits) {
  KISSVDB_RETURN_IF_ERROR(ValidateVector(req.vector, dim, metric, limits));
  KISSVDB_RETURN_IF_ERROR(CheckRange("k", req.k, 1, limits.max_k));
  if (req.ef > limits.max_ef_search) {
    return Status::InvalidArgument("ef must be at most " + std::to_string(limits.max_ef_search));
  }
  return Status::OK();
}

std::string EncodeCollectionName(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(name.size());
  for (unsigned char c : name) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace kissvdb::vector
