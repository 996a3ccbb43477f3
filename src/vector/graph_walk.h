// WalkGraph: hnswlib's k-NN search, restated so that the distance
// function sees the bound a neighbour has to beat and the next vectors are
// fetched whole ahead of use.
//
// The same steps as searchKnn (hnswlib 0.8.0, hnswalg.h): greedy descent
// through the upper layers from the entry point, then the ef-bounded
// best-first search of layer 0 (searchBaseLayerST: bare-bone without a
// filter; with one, hnswlib's filtered rule). Differences: ef comes per
// call (searchKnn reads a member that parallel searches with different ef
// would race on), no shared counters are bumped per hop, each distance is
// computed as dist(query, vector, bound), where a neighbour whose distance
// is >= bound is rejected anyway, and memory is fetched differently: a
// node's unseen neighbours are gathered first, then each one's whole
// vector is requested two distances ahead of its use (hnswlib asks for the
// first cache line of the next neighbour only; bench/NOTES.md, session 10:
// 55 -> 40 us per Fashion-MNIST query). With a `dist` that returns the
// exact distance below the bound and some value >= bound otherwise
// (BoundedL2, or any hnswlib distance ignoring the bound), the walk takes
// hnswlib's path and returns hnswlib's results (graph_walk_test.cc).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <queue>
#include <type_traits>
#include <utility>
#include <vector>

#include "vector/hnsw.h"

namespace kissvdb::vector {

namespace graph_walk_internal {
// How far ahead of the distance being computed the next vectors are
// fetched whole (measured best among 1 and 2 on Fashion-MNIST).
inline constexpr size_t kVectorsAhead = 2;

// Asks for every cache line of [p, p + bytes) (a hint: never faults).
inline void PrefetchBytes(const void* p, size_t bytes) {
  const char* line = reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(p) & ~uintptr_t{63});
  const char* end = static_cast<const char*>(p) + bytes;
  for (; line < end; line += 64) __builtin_prefetch(line);
}
}  // namespace graph_walk_internal

// WalkGraph's default: every point may be returned, and the walk is
// hnswlib's bare-bone one.
struct AcceptAll {
  bool operator()(hnswlib::tableint) const { return true; }
};

// The up-to-ef closest points found, as (distance, label) in ascending
// order (ties by label). With an `accept` other than AcceptAll, only
// points it accepts (given their internal id) are returned, and the walk
// is the one hnswlib takes with a filter functor or deleted points
// (searchBaseLayerST<false>): rejected points still lead the way, and the
// walk goes on past the ef-th distance until it holds ef accepted points.
// REQUIRES: no writer changes `index` during the call.
template <typename Distance, typename Accept = AcceptAll>
std::vector<std::pair<float, size_t>> WalkGraph(const hnswlib::HierarchicalNSW<float>& index, const float* query,
                                                size_t ef, const Distance& dist, const Accept& accept = {}) {
  constexpr bool kAcceptAll = std::is_same_v<Accept, AcceptAll>;
  using hnswlib::tableint;
  using graph_walk_internal::kVectorsAhead;
  using graph_walk_internal::PrefetchBytes;
  constexpr float kNoBound = std::numeric_limits<float>::infinity();
  std::vector<std::pair<float, size_t>> found;
  if (index.cur_element_count == 0) return found;
  auto vector_of = [&index](tableint id) { return reinterpret_cast<const float*>(index.getDataByInternalId(id)); };

  tableint current = index.enterpoint_node_;
  float current_dist = dist(query, vector_of(current), kNoBound);
  for (int level = index.maxlevel_; level > 0; --level) {
    for (bool changed = true; changed;) {
      changed = false;
      unsigned int* list = index.get_linklist(current, level);
      const int size = index.getListCount(list);
      const tableint* neighbors = list + 1;
      for (int i = 0; i < size; ++i) {
        const float d = dist(query, vector_of(neighbors[i]), current_dist);
        if (d < current_dist) {
          current_dist = d;
          current = neighbors[i];
          changed = true;
        }
      }
    }
  }

  // Layer 0. top: the best ef so far, farthest on top; candidates: to
  // expand, closest on top (distances negated).
  using Entry = std::pair<float, tableint>;
  auto first_less = [](const Entry& a, const Entry& b) { return a.first < b.first; };
  std::priority_queue<Entry, std::vector<Entry>, decltype(first_less)> top(first_less), candidates(first_less);
  hnswlib::VisitedList* visited_list = index.visited_list_pool_->getFreeVisitedList();
  hnswlib::vl_type* const visited = visited_list->mass;
  const hnswlib::vl_type tag = visited_list->curV;
  const size_t vector_bytes = index.data_size_;
  std::vector<tableint> fresh(index.maxM0_);  // a node's neighbours not seen before

  // lower_bound: the farthest in top, or "none" while top is empty.
  float lower_bound = std::numeric_limits<float>::max();
  if (accept(current)) {
    top.emplace(current_dist, current);
    lower_bound = current_dist;
    candidates.emplace(-current_dist, current);
  } else {
    candidates.emplace(-lower_bound, current);
  }
  visited[current] = tag;
  while (!candidates.empty()) {
    const Entry next = candidates.top();
    if (-next.first > lower_bound && (kAcceptAll || top.size() >= ef)) break;
    candidates.pop();
    unsigned int* const list = index.get_linklist0(next.second);
    const size_t size = std::min<size_t>(index.getListCount(list), fresh.size());
    const tableint* const links = list + 1;
    // The neighbours not seen yet, marked as seen in list order as hnswlib
    // marks them, and the first line of each of their vectors requested at
    // once.
    for (size_t j = 0; j < size; ++j) __builtin_prefetch(visited + links[j]);
    size_t n = 0;
    for (size_t j = 0; j < size; ++j) {
      const tableint id = links[j];
      if (visited[id] == tag) continue;
      visited[id] = tag;
      fresh[n++] = id;
      __builtin_prefetch(vector_of(id));
    }
    for (size_t f = 0; f < n; ++f) {
      // While this distance is computed, the whole vector two ahead comes
      // in: a vector spans many cache lines (3 KiB at 784 floats), and the
      // hardware prefetcher does not run ahead across the jump between
      // vectors. See bench/NOTES.md (session 10).
      if (f + kVectorsAhead < n) PrefetchBytes(vector_of(fresh[f + kVectorsAhead]), vector_bytes);
      const tableint id = fresh[f];
      const bool full = top.size() >= ef;
      const float d = dist(query, vector_of(id), full ? lower_bound : kNoBound);
      if (full && !(lower_bound > d)) continue;
      candidates.emplace(-d, id);
      __builtin_prefetch(index.get_linklist0(candidates.top().second));
      if (kAcceptAll || accept(id)) top.emplace(d, id);
      while (top.size() > ef) top.pop();
      if (!top.empty()) lower_bound = top.top().first;
    }
  }
  index.visited_list_pool_->releaseVisitedList(visited_list);

  found.reserve(top.size());
  for (; !top.empty(); top.pop()) found.emplace_back(top.top().first, index.getExternalLabel(top.top().second));
  // Closest first, equal distances by label, as searchKnn orders them (the
  // heap leaves ties in whatever order its pushes and pops gave).
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace kissvdb::vector
