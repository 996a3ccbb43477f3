// Wide-SIMD distances for searching a graph, chosen at run time.
//
// Why: KissVDB is built for baseline x86-64 (it must run on any x86-64
// CPU), so hnswlib compiles to its SSE kernels, which add 4 floats at a
// time into one accumulator. A search is mostly distance computations: with
// AVX2+FMA (8 floats, four accumulators) a search over HTTP costs ~30% less
// CPU (bench/NOTES.md, section 3, session 9). The CPU is asked once; the
// kernels are compiled for their instruction set with target attributes,
// so nothing else in the binary needs it.
//
// These sum in a different order from the kernels that built the graph
// (graph_kernels.h), so distances can differ in the last bits and a search
// may take a slightly different path through the graph (equally good: the
// recall tests run on whatever kernel the machine picks). Building the
// graph never uses these (they use FMA, and what a CPU has would change
// the graph a log replays into). Returned scores never come from here:
// they are recomputed exactly (Collection::Score).
#pragma once

#include <cstddef>

namespace kissvdb::vector {

struct SimdKernels {
  const char* name;  // "avx512" or "avx2"
  // Squared L2 distance if it is < bound, else some value in [bound, the
  // squared distance as this kernel computes it]: the sum of squares is
  // checked against the bound every 128 floats, and a neighbour that cannot
  // get into the results is given up early (see bounded_l2.h).
  float (*l2_until)(const float* a, const float* b, size_t dim, float bound);
  // 1 - <a, b>: hnswlib's inner-product distance (cosine and dot).
  float (*ip_distance)(const float* a, const float* b, size_t dim);
};

// The widest kernels this CPU runs, or nullptr when it has neither AVX-512F
// nor AVX2+FMA (then Collection searches with bounded_l2.h or the graph's
// own kernels). Asked once per process.
const SimdKernels* BestSimdKernels();

// Each set by name, or nullptr if this CPU cannot run it. For tests.
const SimdKernels* SimdKernelsNamed(const char* name);

}  // namespace kissvdb::vector
