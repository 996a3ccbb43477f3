// WalkGraph: hnswlib's unfiltered k-NN search, restated so that the
// distance function sees the bound a neighbour has to beat.
//
// The same steps as searchKnn with a bare-bone base layer (hnswlib 0.8.0,
// hnswalg.h): greedy descent through the upper layers from the entry point,
// then the ef-bounded best-first search of layer 0, with hnswlib's
// prefetches. Differences: ef comes per call (searchKnn reads a member that
// parallel searches with different ef would race on), no shared counters
// are bumped per hop, and each distance is computed as dist(query, vector,
// bound), where a neighbour whose distance is >= bound is rejected anyway.
// With a `dist` that returns the exact distance below the bound and some
// value >= bound otherwise (BoundedL2, or any hnswlib distance ignoring the
// bound), the walk takes hnswlib's path and returns hnswlib's results.
#pragma once

#include <algorithm>
#include <limits>
#include <queue>
#include <utility>
#include <vector>

#include "vector/hnsw.h"

namespace kissvdb::vector {

// The up-to-ef closest points found, as (distance, label) in ascending
// order (ties by label).
// REQUIRES: no writer changes `index` during the call.
template <typename Distance>
std::vector<std::pair<float, size_t>> WalkGraph(const hnswlib::HierarchicalNSW<float>& index, const float* query,
                                                size_t ef, const Distance& dist) {
  using hnswlib::tableint;
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
  [[maybe_unused]] char* const level0 = index.data_level0_memory_;
  [[maybe_unused]] const size_t stride = index.size_data_per_element_;

  float lower_bound = current_dist;  // the farthest in top
  top.emplace(current_dist, current);
  candidates.emplace(-current_dist, current);
  visited[current] = tag;
  while (!candidates.empty()) {
    const Entry next = candidates.top();
    if (-next.first > lower_bound) break;
    candidates.pop();
    unsigned int* const list = index.get_linklist0(next.second);
    const size_t size = index.getListCount(list);
    const int* const links = reinterpret_cast<const int*>(list);
#ifdef USE_SSE
    _mm_prefetch(reinterpret_cast<const char*>(visited + links[1]), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(visited + links[1] + 64), _MM_HINT_T0);
    _mm_prefetch(level0 + links[1] * stride + index.offsetData_, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(links + 2), _MM_HINT_T0);
#endif
    for (size_t j = 1; j <= size; ++j) {
      const tableint id = static_cast<tableint>(links[j]);
#ifdef USE_SSE
      // One past the last link is still inside the list's fixed-size slot.
      _mm_prefetch(reinterpret_cast<const char*>(visited + links[j + 1]), _MM_HINT_T0);
      _mm_prefetch(level0 + links[j + 1] * stride + index.offsetData_, _MM_HINT_T0);
#endif
      if (visited[id] == tag) continue;
      visited[id] = tag;
      const bool full = top.size() >= ef;
      const float d = dist(query, vector_of(id), full ? lower_bound : kNoBound);
      if (full && !(lower_bound > d)) continue;
      candidates.emplace(-d, id);
#ifdef USE_SSE
      _mm_prefetch(level0 + candidates.top().second * stride + index.offsetLevel0_, _MM_HINT_T0);
#endif
      top.emplace(d, id);
      while (top.size() > ef) top.pop();
      lower_bound = top.top().first;
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
