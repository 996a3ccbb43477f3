// kissvdb_bench_hnsw: the in-process vector ceiling for bench/run.sh.
//
// The same hnswlib 0.8.0 headers KissVDB links, compiled for this CPU
// (-march=native, as hnswlib's own Python build does: its AVX-512 or AVX
// kernels, where KissVDB picks its own at run time), the same graph
// parameters and seed, the graph in huge pages as KissVDB keeps it
// (util/huge_pages.h), and the vectors inserted one thread in id order, as
// KissVDB's commit thread does. No HTTP, no JSON: what KissVDB's vector
// routes are measured against.
//
//   kissvdb_bench_hnsw gt     --base F --n N --queries Q --nq M --dim D --k K --out GT
//   kissvdb_bench_hnsw build  --base F --n N --dim D --m M --efc E [--save INDEX]
//   kissvdb_bench_hnsw search --base F --n N --index INDEX --queries Q --nq M --dim D
//                             --gt GT --k K --ef E1,E2,... [--threads T --seconds S]
//
// Vectors are raw uint8 rows of D bytes (the IDX payload), turned into
// floats as pixel / 255. Ground truth is exact L2 (brute force), saved as
// nq * k int32 labels. Every command prints one JSON object on stdout.
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "util/huge_pages.h"

namespace {

using Clock = std::chrono::steady_clock;

void AdviseIndexMemory(hnswlib::HierarchicalNSW<float>& index) {
  kissvdb::AdviseHugePages(index.data_level0_memory_, index.max_elements_ * index.size_data_per_element_);
}

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

std::map<std::string, std::string> ParseFlags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) throw std::runtime_error("expected a --flag, got " + name);
    flags[name.substr(2)] = argv[i + 1];
  }
  return flags;
}

const std::string& Flag(const std::map<std::string, std::string>& f, const std::string& name) {
  auto it = f.find(name);
  if (it == f.end()) throw std::runtime_error("missing --" + name);
  return it->second;
}

size_t FlagU(const std::map<std::string, std::string>& f, const std::string& name, size_t def = SIZE_MAX) {
  auto it = f.find(name);
  if (it == f.end()) {
    if (def == SIZE_MAX) throw std::runtime_error("missing --" + name);
    return def;
  }
  return std::stoull(it->second);
}

// The first n rows of dim bytes each, as floats pixel / 255.
std::vector<float> LoadRows(const std::string& path, size_t n, size_t dim) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<unsigned char> raw(n * dim);
  in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
  if (static_cast<size_t>(in.gcount()) != raw.size()) throw std::runtime_error(path + " has fewer rows than asked");
  std::vector<float> out(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) out[i] = static_cast<float>(raw[i]) / 255.0f;
  return out;
}

long RssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6) * 1024;
  }
  return 0;
}

// Exact top-k by L2, split over the hardware threads.
int GroundTruth(const std::map<std::string, std::string>& f) {
  const size_t n = FlagU(f, "n"), nq = FlagU(f, "nq"), dim = FlagU(f, "dim"), k = FlagU(f, "k");
  const auto base = LoadRows(Flag(f, "base"), n, dim);
  const auto queries = LoadRows(Flag(f, "queries"), nq, dim);
  hnswlib::L2Space space(dim);
  auto dist = space.get_dist_func();
  void* param = space.get_dist_func_param();
  std::vector<int32_t> out(nq * k);
  std::atomic<size_t> next{0};
  auto work = [&] {
    std::vector<std::pair<float, int32_t>> all(n);
    for (size_t q; (q = next.fetch_add(1)) < nq;) {
      for (size_t i = 0; i < n; ++i) all[i] = {dist(&queries[q * dim], &base[i * dim], param), static_cast<int32_t>(i)};
      std::partial_sort(all.begin(), all.begin() + k, all.end());
      for (size_t j = 0; j < k; ++j) out[q * k + j] = all[j].second;
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < std::max(1u, std::thread::hardware_concurrency()); ++t) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  std::ofstream o(Flag(f, "out"), std::ios::binary);
  o.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size() * sizeof(int32_t)));
  if (!o) throw std::runtime_error("cannot write " + Flag(f, "out"));
  std::printf("{\"queries\": %zu, \"k\": %zu}\n", nq, k);
  return 0;
}

int Build(const std::map<std::string, std::string>& f) {
  const size_t n = FlagU(f, "n"), dim = FlagU(f, "dim");
  const auto base = LoadRows(Flag(f, "base"), n, dim);
  hnswlib::L2Space space(dim);
  const long rss_before = RssBytes();
  const auto start = Clock::now();
  // Seed 100, growth by doubling from 16 slots and huge pages after each
  // growth, as src/vector/collection.cc.
  size_t capacity = 16;
  hnswlib::HierarchicalNSW<float> index(&space, capacity, FlagU(f, "m"), FlagU(f, "efc"), 100);
  for (size_t i = 0; i < n; ++i) {
    if (index.getCurrentElementCount() >= index.getMaxElements()) {
      index.resizeIndex(2 * index.getMaxElements());
      AdviseIndexMemory(index);
    }
    index.addPoint(&base[i * dim], i);
  }
  const double secs = Seconds(start);
  const long rss_after = RssBytes();
  auto save = f.find("save");
  if (save != f.end()) index.saveIndex(save->second);
  std::printf("{\"vectors\": %zu, \"seconds\": %.6f, \"vectors_per_s\": %.3f, \"rss_delta_bytes\": %ld}\n", n, secs,
              n / secs, rss_after - rss_before);
  return 0;
}

std::vector<size_t> ParseList(const std::string& s) {
  std::vector<size_t> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(std::stoull(s.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return out;
}

// For each ef: recall@k over all queries, then QPS of `threads` threads
// searching round-robin for `seconds`.
int Search(const std::map<std::string, std::string>& f) {
  const size_t nq = FlagU(f, "nq"), dim = FlagU(f, "dim"), k = FlagU(f, "k");
  const size_t threads = FlagU(f, "threads", std::max(1u, std::thread::hardware_concurrency()));
  const double seconds = std::stod(f.count("seconds") ? f.at("seconds") : "0");
  const auto queries = LoadRows(Flag(f, "queries"), nq, dim);
  std::vector<int32_t> gt(nq * k);
  {
    std::ifstream in(Flag(f, "gt"), std::ios::binary);
    in.read(reinterpret_cast<char*>(gt.data()), static_cast<std::streamsize>(gt.size() * sizeof(int32_t)));
    if (static_cast<size_t>(in.gcount()) != gt.size() * sizeof(int32_t)) throw std::runtime_error("short ground truth");
  }
  hnswlib::L2Space space(dim);
  hnswlib::HierarchicalNSW<float> index(&space, Flag(f, "index"));
  AdviseIndexMemory(index);
  std::printf("[");
  bool first = true;
  for (size_t ef : ParseList(Flag(f, "ef"))) {
    index.setEf(ef);
    size_t found = 0;
    for (size_t q = 0; q < nq; ++q) {
      auto top = index.searchKnn(&queries[q * dim], k);
      while (!top.empty()) {
        const int32_t label = static_cast<int32_t>(top.top().second);
        top.pop();
        found += std::count(&gt[q * k], &gt[q * k] + k, label);
      }
    }
    double qps = 0;
    if (seconds > 0) {
      std::atomic<size_t> done{0};
      std::atomic<bool> stop{false};
      std::vector<std::thread> pool;
      const auto start = Clock::now();
      for (size_t t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
          size_t local = 0;
          for (size_t q = t; !stop.load(std::memory_order_relaxed); q = (q + threads) % nq) {
            auto top = index.searchKnn(&queries[q * dim], k);
            ++local;
          }
          done.fetch_add(local);
        });
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
      stop = true;
      for (auto& t : pool) t.join();
      qps = done.load() / Seconds(start);
    }
    std::printf("%s{\"ef\": %zu, \"recall\": %.5f, \"qps\": %.3f, \"threads\": %zu}", first ? "" : ", ", ef,
                static_cast<double>(found) / static_cast<double>(nq * k), qps, threads);
    first = false;
  }
  std::printf("]\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s gt|build|search --flag value ...\n", argv[0]);
    return 2;
  }
  try {
    const std::string cmd = argv[1];
    const auto flags = ParseFlags(argc, argv);
    if (cmd == "gt") return GroundTruth(flags);
    if (cmd == "build") return Build(flags);
    if (cmd == "search") return Search(flags);
    std::fprintf(stderr, "unknown command %s\n", cmd.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kissvdb_bench_hnsw: %s\n", e.what());
    return 1;
  }
}
