// Distance kernels for building the graph: the same bits on every CPU.
//
// Why: which neighbours an insert links to depends on the last bit of
// every distance it compares, so a log replays into the same graph only if
// every CPU computes every distance to the same float. hnswlib's kernels
// depend on how the binary was compiled (SSE, AVX, AVX-512, with or without
// FMA); these depend on nothing but the two vectors.
//
// The sum, fixed once for all kernels (element i of a dim-long vector,
// term(i) = (a[i] - b[i])^2 for l2, a[i] * b[i] for the inner product, each
// one rounded multiply then one rounded add, never a fused multiply-add):
//   1. 32 lane sums: lane k (0..31) adds term(i) for i = k, k + 32, ...
//      over the floor(dim / 32) whole blocks of 32, in order.
//   2. The whole blocks of 8 left over (0 to 3 of them) are added to lanes
//      0..7, in order.
//   3. The 32 lanes fold to 8: v[j] = (lane[j] + lane[8 + j]) +
//      (lane[16 + j] + lane[24 + j]).
//   4. The 8 fold to 1: ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)).
//   5. The last dim % 8 terms are added one by one, in order.
// "avx2" holds the lanes in four 8-float registers, "sse" in eight 4-float
// registers, "scalar" in an array; each rounds the same operations on the
// same operands, so all three return the same float (graph_kernel_test.cc
// checks it, and that a log builds byte-identical graph files with each).
// graph_kernels.cc is compiled with -ffp-contract=off, so the compiler
// cannot fuse a multiply and an add either.
//
// Searches use the wider SIMD kernels of simd_distance.h: they need not
// match these, because every returned score is recomputed exactly.
#pragma once

#include <cstddef>

#include "vector/hnsw.h"
#include "vector/types.h"

namespace kissvdb::vector {

struct GraphKernels {
  const char* name;  // "avx2", "sse" or "scalar"
  // hnswlib's distance signature; `dim` points at a size_t.
  hnswlib::DISTFUNC<float> l2;  // squared L2
  hnswlib::DISTFUNC<float> ip;  // 1 - <a, b>, hnswlib's inner-product distance
};

// The fastest kernels this CPU runs ("avx2" if it has AVX2, else "sse"),
// unless a test forced others. Asked once per process.
const GraphKernels* CurrentGraphKernels();

// Each set by name, or nullptr if this CPU cannot run it (or the build has
// no such kernel: "avx2" and "sse" exist on x86-64 only).
const GraphKernels* GraphKernelsNamed(const char* name);

// For tests: graphs created or loaded from now on use `kernels` (nullptr:
// back to the CPU's choice). Existing graphs keep theirs.
void ForceGraphKernelsForTesting(const GraphKernels* kernels);

// The hnswlib space of a collection: its metric with the kernels current
// when it is made (cosine is the inner product of normalised vectors).
class GraphSpace : public hnswlib::SpaceInterface<float> {
 public:
  GraphSpace(size_t dim, Metric metric);

  size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return distance_; }
  void* get_dist_func_param() override { return &dim_; }
  const GraphKernels& kernels() const { return *kernels_; }

 private:
  size_t dim_;
  const GraphKernels* kernels_;
  hnswlib::DISTFUNC<float> distance_;
};

}  // namespace kissvdb::vector
