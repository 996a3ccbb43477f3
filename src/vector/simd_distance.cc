#include "vector/simd_distance.h"

#include <cstring>

#if defined(__x86_64__) && !defined(NO_WIDE_SIMD)
#include <immintrin.h>
#define KISSVDB_WIDE_SIMD 1
#endif

namespace kissvdb::vector {

#ifdef KISSVDB_WIDE_SIMD
namespace {

// Floats between two checks of a partial sum against the bound (a check is
// a horizontal sum and a branch; bench/NOTES.md has the sweep).
constexpr size_t kCheckEvery = 128;

__attribute__((target("avx2,fma"))) float HorizontalSum(__m256 s) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}

__attribute__((target("avx2,fma"))) float L2UntilAvx2(const float* a, const float* b, size_t dim, float bound) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  const size_t blocks = dim & ~size_t{31};
  size_t i = 0;
  while (i < blocks) {
    const size_t stop = i + kCheckEvery < blocks ? i + kCheckEvery : blocks;
    for (; i < stop; i += 32) {
      const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
      const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
      const __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
      const __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
      s0 = _mm256_fmadd_ps(d0, d0, s0);
      s1 = _mm256_fmadd_ps(d1, d1, s1);
      s2 = _mm256_fmadd_ps(d2, d2, s2);
      s3 = _mm256_fmadd_ps(d3, d3, s3);
    }
    if (i < dim) {
      const float partial = HorizontalSum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
      if (partial >= bound) return partial;
    }
  }
  for (; i + 8 <= dim; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    s0 = _mm256_fmadd_ps(d, d, s0);
  }
  float sum = HorizontalSum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < dim; ++i) {
    const float d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

__attribute__((target("avx2,fma"))) float IpDistanceAvx2(const float* a, const float* b, size_t dim) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 32 <= dim; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= dim; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float dot = HorizontalSum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < dim; ++i) dot += a[i] * b[i];
  return 1.0f - dot;
}

// (Not _mm512_reduce_add_ps: with GCC 12 it trips -Wmaybe-uninitialized.)
__attribute__((target("avx512f,avx2,fma"))) float HorizontalSum(__m512 s) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  return HorizontalSum(_mm256_add_ps(_mm256_load_ps(lanes), _mm256_load_ps(lanes + 8)));
}

// AVX-512F: 16 floats per register; the tail is one masked load.
__attribute__((target("avx512f,avx2,fma"))) float L2UntilAvx512(const float* a, const float* b, size_t dim, float bound) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  const size_t blocks = dim & ~size_t{63};
  size_t i = 0;
  while (i < blocks) {
    const size_t stop = i + kCheckEvery < blocks ? i + kCheckEvery : blocks;
    for (; i < stop; i += 64) {
      const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
      const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
      const __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
      const __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
      s0 = _mm512_fmadd_ps(d0, d0, s0);
      s1 = _mm512_fmadd_ps(d1, d1, s1);
      s2 = _mm512_fmadd_ps(d2, d2, s2);
      s3 = _mm512_fmadd_ps(d3, d3, s3);
    }
    if (i < dim) {
      const float partial = HorizontalSum(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
      if (partial >= bound) return partial;
    }
  }
  for (; i + 16 <= dim; i += 16) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    s0 = _mm512_fmadd_ps(d, d, s0);
  }
  if (i < dim) {
    const __mmask16 rest = static_cast<__mmask16>((1u << (dim - i)) - 1);
    const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(rest, a + i), _mm512_maskz_loadu_ps(rest, b + i));
    s1 = _mm512_fmadd_ps(d, d, s1);
  }
  return HorizontalSum(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

__attribute__((target("avx512f,avx2,fma"))) float IpDistanceAvx512(const float* a, const float* b, size_t dim) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 64 <= dim; i += 64) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
  }
  for (; i + 16 <= dim; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  if (i < dim) {
    const __mmask16 rest = static_cast<__mmask16>((1u << (dim - i)) - 1);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(rest, a + i), _mm512_maskz_loadu_ps(rest, b + i), s1);
  }
  return 1.0f - HorizontalSum(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

constexpr SimdKernels kAvx512{"avx512", L2UntilAvx512, IpDistanceAvx512};
constexpr SimdKernels kAvx2{"avx2", L2UntilAvx2, IpDistanceAvx2};

bool CpuHas(const char* name) {
  __builtin_cpu_init();
  if (std::strcmp(name, "avx512") == 0) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  if (std::strcmp(name, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return false;
}

}  // namespace

const SimdKernels* SimdKernelsNamed(const char* name) {
  if (!CpuHas(name)) return nullptr;
  return std::strcmp(name, "avx512") == 0 ? &kAvx512 : &kAvx2;
}

const SimdKernels* BestSimdKernels() {
  static const SimdKernels* const best = [] {
    const SimdKernels* k = SimdKernelsNamed("avx512");
    return k != nullptr ? k : SimdKernelsNamed("avx2");
  }();
  return best;
}

#else  // not x86-64, or a sanitizer build: hnswlib's kernels only

const SimdKernels* SimdKernelsNamed(const char*) { return nullptr; }
const SimdKernels* BestSimdKernels() { return nullptr; }

#endif

}  // namespace kissvdb::vector
