#include "vector/collection.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>

#include "util/huge_pages.h"
#include "util/json_filter.h"
#include "vector/bounded_l2.h"
#include "vector/graph_kernels.h"
#include "vector/graph_walk.h"
#include "vector/simd_distance.h"

namespace kissvdb::vector {

namespace {

// Filtered search planning (see Search): a filter is answered by brute force
// over the matching points when it is estimated to keep less than this
// fraction of the live points, or at most kBruteForceMatches of them.
// Below that, a filtered graph walk has to step over too many rejected
// points to find k good ones, and scanning is cheap anyway.
constexpr double kBruteForceSelectivity = 0.10;
constexpr double kBruteForceMatches = 1000;
// Collections up to this many live points count filter matches exactly;
// larger ones sample kSelectivitySamples live points.
constexpr size_t kExactCountMax = 2048;
// See GraphSearch: far above float rounding (~1e-5 over thousands of
// dimensions), far below the gaps that decide a top k.
constexpr float kRescoreMargin = 1e-3f;
constexpr size_t kSelectivitySamples = 512;

// L2-normalises `v` in double precision. REQUIRES: v is not all zero.
void Normalize(std::vector<float>* v) {
  double sum = 0;
  for (float x : *v) sum += static_cast<double>(x) * x;
  const double norm = std::sqrt(sum);
  for (float& x : *v) x = static_cast<float>(x / norm);
}

Status CheckVector(std::span<const float> v, uint32_t dim, Metric metric) {
  if (v.size() != dim) {
    if (v.empty()) return Status::InvalidArgument("vector is empty");
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

}  // namespace

Collection::Collection(CollectionSpec spec) : spec_(std::move(spec)) { InitSpace(); }

Collection::Collection(CollectionSpec spec, uint64_t created_at_ms, uint64_t applied_offset)
    : Collection(std::move(spec)) {
  index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), kInitialCapacity, spec_.hnsw.m,
                                                              spec_.hnsw.ef_construction, kRandomSeed,
                                                              /*allow_replace_deleted=*/false);
  created_at_ms_ = updated_at_ms_ = created_at_ms;
  applied_offset_ = applied_offset;
}

Collection::~Collection() = default;

// The graph is built (and, without wide SIMD, searched) with the
// deterministic kernels of graph_kernels.h: a log replays into the same
// graph bytes on every CPU.
void Collection::InitSpace() { space_ = std::make_unique<GraphSpace>(spec_.dim, spec_.metric); }

void Collection::AdviseIndexMemory() {
  AdviseHugePages(index_->data_level0_memory_, index_->max_elements_ * index_->size_data_per_element_);
}

std::span<const char> Collection::GraphMemory() const {
  std::shared_lock lock(mu_);
  return {index_->data_level0_memory_, index_->max_elements_ * index_->size_data_per_element_};
}

const float* Collection::StoredVector(size_t label) const {
  return reinterpret_cast<const float*>(index_->getDataByInternalId(static_cast<hnswlib::tableint>(label)));
}

// The canonical score: double-precision sums with four accumulators, cast to
// float. Used for every hit, whichever path found it.
float Collection::Score(const float* q, size_t label) const {
  const float* v = StoredVector(label);
  const size_t d = spec_.dim;
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  size_t i = 0;
  if (spec_.metric == Metric::kL2) {
    for (; i + 4 <= d; i += 4) {
      const double t0 = double(q[i]) - v[i], t1 = double(q[i + 1]) - v[i + 1];
      const double t2 = double(q[i + 2]) - v[i + 2], t3 = double(q[i + 3]) - v[i + 3];
      a0 += t0 * t0, a1 += t1 * t1, a2 += t2 * t2, a3 += t3 * t3;
    }
    for (; i < d; ++i) {
      const double t = double(q[i]) - v[i];
      a0 += t * t;
    }
    return static_cast<float>(-((a0 + a1) + (a2 + a3)));
  }
  for (; i + 4 <= d; i += 4) {
    a0 += double(q[i]) * v[i], a1 += double(q[i + 1]) * v[i + 1];
    a2 += double(q[i + 2]) * v[i + 2], a3 += double(q[i + 3]) * v[i + 3];
  }
  for (; i < d; ++i) a0 += double(q[i]) * v[i];
  return static_cast<float>((a0 + a1) + (a2 + a3));
}

bool Collection::Ordered(const Scored& a, const Scored& b) const {
  if (a.score != b.score) return a.score > b.score;
  return rows_[a.label].id < rows_[b.label].id;
}

std::vector<Collection::Scored> Collection::BruteForce(const float* query, const JsonFilter* filter, size_t k) const {
  auto better = [this](const Scored& a, const Scored& b) { return Ordered(a, b); };
  std::vector<Scored> heap;  // worst of the best k at the front
  heap.reserve(k + 1);
  for (size_t label = 0; label < rows_.size(); ++label) {
    const Row& row = rows_[label];
    if (!row.live || (filter != nullptr && !filter->Matches(row.meta))) continue;
    Scored s{Score(query, label), label};
    if (heap.size() < k) {
      heap.push_back(s);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better(s, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = s;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), better);
  return heap;
}

// The graph walk (graph_walk.h) with the CPU's widest distance kernels
// (simd_distance.h); under l2 a distance stops early once a neighbour
// cannot get in. Without AVX2+FMA: under l2, hnswlib's SSE sums, which stop
// early too (bounded_l2.h), where they exist for the dimension; otherwise
// the graph's own kernels (graph_kernels.h).
template <typename Accept>
std::vector<std::pair<float, size_t>> Collection::Walk(const float* query, size_t ef, const Accept& accept) const {
  const auto& index = *index_;
  const size_t dim = spec_.dim;
  if (const SimdKernels* simd = BestSimdKernels(); simd != nullptr) {
    if (spec_.metric == Metric::kL2) {
      auto l2 = [simd, dim](const float* q, const float* v, float bound) { return simd->l2_until(q, v, dim, bound); };
      return WalkGraph(index, query, ef, l2, accept);
    }
    auto ip = [simd, dim](const float* q, const float* v, float /*bound*/) { return simd->ip_distance(q, v, dim); };
    return WalkGraph(index, query, ef, ip, accept);
  }
  if (spec_.metric == Metric::kL2 && BoundedL2::Supports(dim)) {
    return WalkGraph(index, query, ef, BoundedL2(dim), accept);
  }
  auto graph_distance = [&index](const float* q, const float* v, float /*bound*/) {
    return index.fstdistfunc_(q, v, index.dist_func_param_);
  };
  return WalkGraph(index, query, ef, graph_distance, accept);
}

std::vector<Collection::Scored> Collection::GraphSearch(const float* query, const JsonFilter* filter, size_t k,
                                                        size_t ef) const {
  std::vector<std::pair<float, size_t>> found;  // closest first
  if (filter == nullptr && index_->getDeletedCount() == 0) {
    found = Walk(query, ef, AcceptAll());
  } else {
    // Deleted points and points the filter rejects still lead the way.
    auto accept = [this, filter](hnswlib::tableint id) {
      if (index_->isMarkedDeleted(id)) return false;
      const size_t label = index_->getExternalLabel(id);
      return label < rows_.size() && rows_[label].live && (filter == nullptr || filter->Matches(rows_[label].meta));
    };
    found = Walk(query, ef, accept);
  }
  // Only candidates that can reach the top k get the canonical score.
  // hnswlib's float distance differs from the exact one by far less than
  // kRescoreMargin: for l2 relatively (a sum of squares, no cancellation),
  // for cosine absolutely (unit vectors bound every sum by 1). A candidate
  // farther than the k-th by more than that cannot overtake it. Under dot,
  // sums can cancel, so every candidate is rescored.
  size_t rescore = found.size();
  if (rescore > k && spec_.metric != Metric::kDot) {
    const float kth = found[k - 1].first;
    const float limit = spec_.metric == Metric::kL2 ? kth + kth * kRescoreMargin : kth + kRescoreMargin;
    while (rescore > k && found[rescore - 1].first > limit) --rescore;
  }
  std::vector<Scored> out;
  out.reserve(rescore);
  for (size_t i = 0; i < rescore; ++i) out.push_back({Score(query, found[i].second), found[i].second});
  std::sort(out.begin(), out.end(), [this](const Scored& a, const Scored& b) { return Ordered(a, b); });
  if (out.size() > k) out.resize(k);
  return out;
}

double Collection::EstimateSelectivity(const JsonFilter& filter) const {
  const size_t live = labels_.size();
  if (live == 0) return 0;
  size_t seen = 0, matched = 0;
  if (live <= kExactCountMax) {
    for (const Row& row : rows_) {
      if (!row.live) continue;
      ++seen;
      matched += filter.Matches(row.meta);
    }
  } else {
    // A fixed seed: the same search over the same data takes the same path.
    std::mt19937_64 rng(kRandomSeed);
    std::uniform_int_distribution<size_t> pick(0, rows_.size() - 1);
    for (size_t tries = 0; seen < kSelectivitySamples && tries < 8 * kSelectivitySamples; ++tries) {
      const Row& row = rows_[pick(rng)];
      if (!row.live) continue;
      ++seen;
      matched += filter.Matches(row.meta);
    }
  }
  return seen == 0 ? 0 : static_cast<double>(matched) / static_cast<double>(seen);
}

Result<std::vector<SearchHit>> Collection::Search(const SearchRequest& req, SearchStats* stats) const {
  if (req.k == 0) return Status::InvalidArgument("k must be at least 1");
  KISSVDB_RETURN_IF_ERROR(CheckVector(req.vector, spec_.dim, spec_.metric));
  std::vector<float> query(req.vector.begin(), req.vector.end());
  if (spec_.metric == Metric::kCosine) Normalize(&query);
  const JsonFilter* filter = (req.filter != nullptr && !req.filter->MatchesAll()) ? req.filter : nullptr;
  const size_t k = req.k;
  const size_t ef = std::max<size_t>(req.ef != 0 ? req.ef : spec_.hnsw.ef_search, k);

  SearchStats local;
  std::vector<Scored> top;
  std::shared_lock lock(mu_);
  const size_t live = labels_.size();
  bool brute = req.exact;
  if (!brute && filter != nullptr) {
    local.estimated_selectivity = EstimateSelectivity(*filter);
    const double expected = local.estimated_selectivity * static_cast<double>(live);
    brute = local.estimated_selectivity < kBruteForceSelectivity || expected <= kBruteForceMatches;
  }
  if (!brute && live > 0) {
    try {
      top = GraphSearch(query.data(), filter, k, ef);
    } catch (const std::exception& e) {
      return Status::Internal(std::string("hnsw search failed: ") + e.what());
    }
    local.scored = top.size();
    // The graph walk can come back short (a filter that cuts the graph, or
    // an unlucky deleted region). Promise k hits whenever k points qualify.
    if (top.size() < std::min(k, live)) brute = true;
  }
  if (brute) {
    top = BruteForce(query.data(), filter, k);
    local.path = SearchStats::Path::kBruteForce;
    local.scored = live;
  }

  std::vector<SearchHit> hits;
  hits.reserve(top.size());
  for (const Scored& s : top) {
    const Row& row = rows_[s.label];
    hits.push_back(SearchHit{row.id, s.score, req.include_meta ? row.meta : Json()});
  }
  if (stats != nullptr) *stats = local;
  return hits;
}

bool Collection::Contains(std::string_view id) const {
  std::shared_lock lock(mu_);
  return labels_.find(id) != labels_.end();
}

bool Collection::Accepts(std::string_view id, const JsonFilter* filter, Json* meta) const {
  std::shared_lock lock(mu_);
  auto it = labels_.find(id);
  if (it == labels_.end()) return false;
  const Row& row = rows_[it->second];
  if (filter != nullptr && !filter->Matches(row.meta)) return false;
  if (meta != nullptr) *meta = row.meta;
  return true;
}

std::vector<bool> Collection::Live(const std::vector<std::string_view>& ids) const {
  std::shared_lock lock(mu_);
  std::vector<bool> out;
  out.reserve(ids.size());
  for (std::string_view id : ids) out.push_back(labels_.find(id) != labels_.end());
  return out;
}

Status Collection::ForEach(const std::function<Status(std::string_view id, const Json& meta)>& fn) const {
  std::shared_lock lock(mu_);
  for (const Row& row : rows_) {
    if (row.live) KISSVDB_RETURN_IF_ERROR(fn(row.id, row.meta));
  }
  return Status::OK();
}

Result<VectorRecord> Collection::Get(std::string_view id) const {
  std::shared_lock lock(mu_);
  auto it = labels_.find(id);
  if (it == labels_.end()) {
    return Status::NotFound("id \"" + std::string(id) + "\" not found in collection \"" + spec_.name + "\"");
  }
  const Row& row = rows_[it->second];
  VectorRecord rec{row.id, {}, row.meta};
  if (spec_.metric == Metric::kCosine) {
    rec.vector = row.raw;
  } else {
    const float* v = StoredVector(it->second);
    rec.vector.assign(v, v + spec_.dim);
  }
  return rec;
}

Status Collection::Upsert(uint64_t offset, uint64_t ts_ms, std::string_view id, std::span<const float> vector,
                          const Json& meta) {
  if (id.empty()) return Status::InvalidArgument("id is empty");
  KISSVDB_RETURN_IF_ERROR(CheckVector(vector, spec_.dim, spec_.metric));
  std::vector<float> data(vector.begin(), vector.end());
  if (spec_.metric == Metric::kCosine) Normalize(&data);

  std::unique_lock lock(mu_);
  if (offset <= applied_offset_) return Status::OK();
  std::string key(id);
  auto it = labels_.find(key);
  size_t label;
  try {
    if (it != labels_.end()) {
      label = it->second;  // replace the vector in place
      index_->addPoint(data.data(), label);
    } else if (!free_.empty()) {
      label = free_.back();  // revives the deleted slot `label`
      index_->addPoint(data.data(), label);
      free_.pop_back();
    } else {
      label = rows_.size();
      if (index_->getCurrentElementCount() >= index_->getMaxElements()) {
        index_->resizeIndex(std::max(kInitialCapacity, 2 * index_->getMaxElements()));
        AdviseIndexMemory();
      }
      index_->addPoint(data.data(), label);
      rows_.emplace_back();
    }
  } catch (const std::exception& e) {
    return Status::Internal("hnsw insert into \"" + spec_.name + "\" failed: " + e.what());
  }
  Row& row = rows_[label];
  row.id = std::move(key);
  row.meta = meta;
  row.live = true;
  if (spec_.metric == Metric::kCosine) row.raw.assign(vector.begin(), vector.end());
  if (it == labels_.end()) labels_.emplace(row.id, label);
  ++upsert_count_;
  applied_offset_ = offset;
  updated_at_ms_ = ts_ms;
  return Status::OK();
}

Status Collection::Delete(uint64_t offset, uint64_t ts_ms, std::string_view id) {
  std::unique_lock lock(mu_);
  if (offset <= applied_offset_) return Status::OK();
  applied_offset_ = offset;
  auto it = labels_.find(id);
  if (it == labels_.end()) return Status::OK();
  const size_t label = it->second;
  try {
    index_->markDelete(label);
  } catch (const std::exception& e) {
    return Status::Internal("hnsw delete from \"" + spec_.name + "\" failed: " + e.what());
  }
  labels_.erase(it);
  rows_[label] = Row{};
  free_.push_back(label);
  updated_at_ms_ = ts_ms;
  return Status::OK();
}

uint64_t Collection::applied_offset() const {
  std::shared_lock lock(mu_);
  return applied_offset_;
}

bool Collection::Dirty() const { return generation_ == 0 || persisted_offset_ != applied_offset_; }

CollectionInfo Collection::Info() const {
  std::shared_lock lock(mu_);
  CollectionInfo info;
  info.spec = spec_;
  info.live_count = labels_.size();
  info.deleted_count = free_.size();
  info.capacity = index_->max_elements_;
  info.upsert_count = upsert_count_;
  info.applied_offset = applied_offset_;
  info.persisted_offset = persisted_offset_;
  info.created_at_ms = created_at_ms_;
  info.updated_at_ms = updated_at_ms_;
  info.file_bytes = file_bytes_;
  return info;
}

}  // namespace kissvdb::vector
