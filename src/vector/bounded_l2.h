// BoundedL2: hnswlib's squared L2 distance that gives up early, for
// searches on CPUs without AVX2+FMA (the graph is built with the kernels of
// graph_kernels.h; a search need not sum in the same order).
//
// A graph search only needs a neighbour's distance if it beats the worst of
// the ef best found so far; most neighbours do not. A sum of squares only
// grows, so once a partial sum reaches that bound the neighbour is rejected
// whatever the remaining dimensions hold, and reading them (the bulk of a
// search's memory traffic) can be skipped: on Fashion-MNIST (784-d, ef 16)
// a search then reads ~20% fewer floats (bench/NOTES.md, section 3).
//
// Bit for bit: a distance that completes is exactly what hnswlib's own
// function returns in this build (the same operations in the same order),
// and an abandoned one returns the partial sum, which is >= bound and <=
// the full sum (each add of a non-negative term can only keep or raise a
// float sum). So a search deciding "d < bound" decides as hnswlib would.
#pragma once

#include <algorithm>
#include <cstddef>

#include "vector/hnsw.h"

namespace kissvdb::vector {

class BoundedL2 {
 public:
  // Whether this build reproduces hnswlib's L2 for `dim`: its SSE kernel
  // for multiples of 16 (AVX builds and other dimensions use other kernels,
  // not reproduced here), or its portable loop for any dimension.
  static bool Supports(size_t dim) {
#if defined(USE_AVX)
    (void)dim;
    return false;
#elif defined(USE_SSE)
    return dim % 16 == 0;
#else
    (void)dim;
    return true;
#endif
  }

  explicit BoundedL2(size_t dim) : dim_(dim) {}

  // The squared distance if it is < bound, else some value in [bound, the
  // squared distance]. REQUIRES: Supports(dim).
  float operator()(const float* a, const float* b, float bound) const {
#if defined(USE_SSE) && !defined(USE_AVX)
    __m128 sum = _mm_setzero_ps();
    size_t i = 0;
    while (i < dim_) {
      const size_t stop = std::min(dim_, i + kStep);
      for (; i < stop; i += 16) {
        for (size_t j = i; j < i + 16; j += 4) {
          const __m128 d = _mm_sub_ps(_mm_loadu_ps(a + j), _mm_loadu_ps(b + j));
          sum = _mm_add_ps(sum, _mm_mul_ps(d, d));
        }
      }
      alignas(16) float lanes[4];
      _mm_store_ps(lanes, sum);
      const float partial = lanes[0] + lanes[1] + lanes[2] + lanes[3];
      if (i == dim_ || partial >= bound) return partial;
    }
    return 0;  // dim_ == 0
#else
    float sum = 0;
    size_t i = 0;
    while (i < dim_) {
      const size_t stop = std::min(dim_, i + kStep);
      for (; i < stop; ++i) {
        const float d = a[i] - b[i];
        sum += d * d;
      }
      if (sum >= bound) return sum;
    }
    return sum;
#endif
  }

 private:
  // Floats between checks: four cache lines (a check costs a horizontal sum
  // and a branch; the hardware prefetcher runs ahead of the loads anyway).
  static constexpr size_t kStep = 64;
  const size_t dim_;
};

}  // namespace kissvdb::vector
