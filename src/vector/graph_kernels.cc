// The graph kernels: one order of operations (graph_kernels.h), three ways
// to run it. Compiled with -ffp-contract=off (CMakeLists.txt): no function
// here may fuse a multiply with an add, whatever -march the build uses, and
// the AVX2 kernels are compiled for "avx2" alone, never "fma".
#include "vector/graph_kernels.h"

#include <atomic>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#define KISSVDB_GRAPH_SIMD 1
#endif

namespace kissvdb::vector {

namespace {

const float* Floats(const void* p) { return static_cast<const float*>(p); }
size_t Dim(const void* p) { return *static_cast<const size_t*>(p); }

template <bool kL2>
inline float Term(float a, float b) {
  if constexpr (kL2) {
    const float d = a - b;
    return d * d;
  } else {
    return a * b;
  }
}

// Steps 4 and 5 of graph_kernels.h, from the 8 folded lanes v[0..7].
template <bool kL2>
inline float Finish(const float* v, const float* a, const float* b, size_t i, size_t dim) {
  float sum = ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
  for (; i < dim; ++i) sum += Term<kL2>(a[i], b[i]);
  return sum;
}

template <bool kL2>
float SumScalar(const float* a, const float* b, size_t dim) {
  float lane[32] = {};
  const size_t blocks = dim & ~size_t{31};
  size_t i = 0;
  for (; i < blocks; i += 32) {
    for (size_t k = 0; k < 32; ++k) lane[k] += Term<kL2>(a[i + k], b[i + k]);
  }
  for (; i + 8 <= dim; i += 8) {
    for (size_t k = 0; k < 8; ++k) lane[k] += Term<kL2>(a[i + k], b[i + k]);
  }
  float v[8];
  for (size_t j = 0; j < 8; ++j) v[j] = (lane[j] + lane[8 + j]) + (lane[16 + j] + lane[24 + j]);
  return Finish<kL2>(v, a, b, i, dim);
}

float L2Scalar(const void* a, const void* b, const void* dim) {
  return SumScalar<true>(Floats(a), Floats(b), Dim(dim));
}
float IpScalar(const void* a, const void* b, const void* dim) {
  return 1.0f - SumScalar<false>(Floats(a), Floats(b), Dim(dim));
}

constexpr GraphKernels kScalar{"scalar", L2Scalar, IpScalar};

#ifdef KISSVDB_GRAPH_SIMD

// SSE2 (baseline x86-64): lanes 8k..8k+3 in lo[k], 8k+4..8k+7 in hi[k].
template <bool kL2>
inline __m128 Term4(const float* a, const float* b) {
  const __m128 x = _mm_loadu_ps(a), y = _mm_loadu_ps(b);
  if constexpr (kL2) {
    const __m128 d = _mm_sub_ps(x, y);
    return _mm_mul_ps(d, d);
  } else {
    return _mm_mul_ps(x, y);
  }
}

template <bool kL2>
float SumSse(const float* a, const float* b, size_t dim) {
  __m128 lo0 = _mm_setzero_ps(), lo1 = lo0, lo2 = lo0, lo3 = lo0;
  __m128 hi0 = lo0, hi1 = lo0, hi2 = lo0, hi3 = lo0;
  const size_t blocks = dim & ~size_t{31};
  size_t i = 0;
  for (; i < blocks; i += 32) {
    lo0 = _mm_add_ps(lo0, Term4<kL2>(a + i, b + i));
    hi0 = _mm_add_ps(hi0, Term4<kL2>(a + i + 4, b + i + 4));
    lo1 = _mm_add_ps(lo1, Term4<kL2>(a + i + 8, b + i + 8));
    hi1 = _mm_add_ps(hi1, Term4<kL2>(a + i + 12, b + i + 12));
    lo2 = _mm_add_ps(lo2, Term4<kL2>(a + i + 16, b + i + 16));
    hi2 = _mm_add_ps(hi2, Term4<kL2>(a + i + 20, b + i + 20));
    lo3 = _mm_add_ps(lo3, Term4<kL2>(a + i + 24, b + i + 24));
    hi3 = _mm_add_ps(hi3, Term4<kL2>(a + i + 28, b + i + 28));
  }
  for (; i + 8 <= dim; i += 8) {
    lo0 = _mm_add_ps(lo0, Term4<kL2>(a + i, b + i));
    hi0 = _mm_add_ps(hi0, Term4<kL2>(a + i + 4, b + i + 4));
  }
  alignas(16) float v[8];
  _mm_store_ps(v, _mm_add_ps(_mm_add_ps(lo0, lo1), _mm_add_ps(lo2, lo3)));
  _mm_store_ps(v + 4, _mm_add_ps(_mm_add_ps(hi0, hi1), _mm_add_ps(hi2, hi3)));
  return Finish<kL2>(v, a, b, i, dim);
}

float L2Sse(const void* a, const void* b, const void* dim) { return SumSse<true>(Floats(a), Floats(b), Dim(dim)); }
float IpSse(const void* a, const void* b, const void* dim) {
  return 1.0f - SumSse<false>(Floats(a), Floats(b), Dim(dim));
}

// AVX2: lanes 8k..8k+7 in s[k].
template <bool kL2>
__attribute__((target("avx2"))) inline __m256 Term8(const float* a, const float* b) {
  const __m256 x = _mm256_loadu_ps(a), y = _mm256_loadu_ps(b);
  if constexpr (kL2) {
    const __m256 d = _mm256_sub_ps(x, y);
    return _mm256_mul_ps(d, d);
  } else {
    return _mm256_mul_ps(x, y);
  }
}

template <bool kL2>
__attribute__((target("avx2"))) float SumAvx2(const float* a, const float* b, size_t dim) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  const size_t blocks = dim & ~size_t{31};
  size_t i = 0;
  for (; i < blocks; i += 32) {
    s0 = _mm256_add_ps(s0, Term8<kL2>(a + i, b + i));
    s1 = _mm256_add_ps(s1, Term8<kL2>(a + i + 8, b + i + 8));
    s2 = _mm256_add_ps(s2, Term8<kL2>(a + i + 16, b + i + 16));
    s3 = _mm256_add_ps(s3, Term8<kL2>(a + i + 24, b + i + 24));
  }
  for (; i + 8 <= dim; i += 8) s0 = _mm256_add_ps(s0, Term8<kL2>(a + i, b + i));
  alignas(32) float v[8];
  _mm256_store_ps(v, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  return Finish<kL2>(v, a, b, i, dim);
}

__attribute__((target("avx2"))) float L2Avx2(const void* a, const void* b, const void* dim) {
  return SumAvx2<true>(Floats(a), Floats(b), Dim(dim));
}
__attribute__((target("avx2"))) float IpAvx2(const void* a, const void* b, const void* dim) {
  return 1.0f - SumAvx2<false>(Floats(a), Floats(b), Dim(dim));
}

constexpr GraphKernels kSse{"sse", L2Sse, IpSse};
constexpr GraphKernels kAvx2{"avx2", L2Avx2, IpAvx2};

#endif  // KISSVDB_GRAPH_SIMD

std::atomic<const GraphKernels*> forced{nullptr};

}  // namespace

const GraphKernels* GraphKernelsNamed(const char* name) {
  if (std::strcmp(name, "scalar") == 0) return &kScalar;
#ifdef KISSVDB_GRAPH_SIMD
  if (std::strcmp(name, "sse") == 0) return &kSse;
  if (std::strcmp(name, "avx2") == 0) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? &kAvx2 : nullptr;
  }
#endif
  return nullptr;
}

const GraphKernels* CurrentGraphKernels() {
  if (const GraphKernels* k = forced.load(std::memory_order_acquire)) return k;
  static const GraphKernels* const best = [] {
    for (const char* name : {"avx2", "sse"}) {
      if (const GraphKernels* k = GraphKernelsNamed(name)) return k;
    }
    return &kScalar;
  }();
  return best;
}

void ForceGraphKernelsForTesting(const GraphKernels* kernels) { forced.store(kernels, std::memory_order_release); }

GraphSpace::GraphSpace(size_t dim, Metric metric)
    : dim_(dim), kernels_(CurrentGraphKernels()), distance_(metric == Metric::kL2 ? kernels_->l2 : kernels_->ip) {}

}  // namespace kissvdb::vector
