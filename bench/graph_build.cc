// kissvdb_bench_graph_build: what the graph kernels (src/vector/graph_kernels.h)
// cost, in one process, one thread.
//
//   kissvdb_bench_graph_build --base F --n N --dim D --m M --efc E [--rounds R]
//
// Vectors as kissvdb_bench_hnsw reads them (raw uint8 rows, pixel / 255).
// Per round, for hnswlib's own L2 kernel as this build compiles it (SSE on
// baseline x86-64: what graphs were built with before session 14) and for
// each graph kernel this CPU runs: ns per distance (every pair of the first
// 256 rows, in cache) and inserts/s of a graph of the first N rows, built
// as src/vector/collection.cc builds it (seed 100, doubling from 16 slots).
// Last, inserts/s through Collection::Upsert with the CPU's kernel (what the
// commit thread does per vector, minus the log). Compare with
// `kissvdb_bench_hnsw build` on the same flags: hnswlib -march=native.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "vector/collection.h"
#include "vector/graph_kernels.h"

namespace {

using namespace kissvdb;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

std::vector<float> LoadRows(const std::string& path, size_t n, size_t dim) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> raw(n * dim);
  in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
  if (!in) throw std::runtime_error(path + ": cannot read " + std::to_string(n) + " rows");
  std::vector<float> out(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) out[i] = static_cast<float>(raw[i]) / 255.0f;
  return out;
}

double NsPerDistance(hnswlib::SpaceInterface<float>& space, const std::vector<float>& rows, size_t dim) {
  const size_t n = std::min<size_t>(256, rows.size() / dim);
  const auto dist = space.get_dist_func();
  void* param = space.get_dist_func_param();
  volatile float sink = 0;
  size_t calls = 0;
  const auto start = Clock::now();
  for (int rep = 0; rep < 20; ++rep) {
    for (size_t i = 0; i < n; ++i) {
      float s = 0;
      for (size_t j = 0; j < n; ++j) s += dist(&rows[i * dim], &rows[j * dim], param);
      sink = sink + s;
      calls += n;
    }
  }
  return Seconds(start) * 1e9 / static_cast<double>(calls);
}

double InsertsPerSecond(hnswlib::SpaceInterface<float>& space, const std::vector<float>& rows, size_t n, size_t dim,
                        size_t m, size_t efc) {
  const auto start = Clock::now();
  hnswlib::HierarchicalNSW<float> index(&space, 16, m, efc, 100);
  for (size_t i = 0; i < n; ++i) {
    if (index.getCurrentElementCount() >= index.getMaxElements()) index.resizeIndex(2 * index.getMaxElements());
    index.addPoint(&rows[i * dim], i);
  }
  return static_cast<double>(n) / Seconds(start);
}

double UpsertsPerSecond(const std::vector<float>& rows, size_t n, size_t dim, size_t m, size_t efc) {
  vector::CollectionSpec spec{"bench", static_cast<uint32_t>(dim), vector::Metric::kL2,
                              {static_cast<uint32_t>(m), static_cast<uint32_t>(efc), 64}};
  const auto start = Clock::now();
  vector::Collection c(spec, 0, 0);
  for (size_t i = 0; i < n; ++i) {
    std::string id("v");  // (not "v" + to_string: GCC 12's false -Wrestrict)
    id += std::to_string(i);
    Status s = c.Upsert(i + 1, 0, id, {&rows[i * dim], dim}, Json());
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }
  return static_cast<double>(n) / Seconds(start);
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 1; i + 1 < argc; i += 2) f[std::string(argv[i]).substr(2)] = argv[i + 1];
  try {
    const size_t n = std::stoull(f.at("n")), dim = std::stoull(f.at("dim"));
    const size_t m = std::stoull(f.at("m")), efc = std::stoull(f.at("efc"));
    const int rounds = f.count("rounds") ? std::stoi(f.at("rounds")) : 1;
    const auto rows = LoadRows(f.at("base"), n, dim);
    for (int round = 0; round < rounds; ++round) {
      {
        hnswlib::L2Space space(dim);
        std::printf("round %d  hnswlib L2Space (this build)  %6.1f ns/distance  %7.0f inserts/s\n", round,
                    NsPerDistance(space, rows, dim), InsertsPerSecond(space, rows, n, dim, m, efc));
      }
      for (const char* name : {"scalar", "sse", "avx2"}) {
        const vector::GraphKernels* k = vector::GraphKernelsNamed(name);
        if (k == nullptr) continue;
        vector::ForceGraphKernelsForTesting(k);
        vector::GraphSpace space(dim, vector::Metric::kL2);
        std::printf("round %d  graph kernel %-6s            %6.1f ns/distance  %7.0f inserts/s\n", round, name,
                    NsPerDistance(space, rows, dim), InsertsPerSecond(space, rows, n, dim, m, efc));
      }
      vector::ForceGraphKernelsForTesting(nullptr);
      std::printf("round %d  Collection::Upsert (%s)                        %7.0f upserts/s\n", round,
                  vector::CurrentGraphKernels()->name, UpsertsPerSecond(rows, n, dim, m, efc));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kissvdb_bench_graph_build: %s\n", e.what());
    return 1;
  }
  return 0;
}
