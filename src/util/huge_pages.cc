#include "util/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace kissvdb {

namespace {

constexpr uintptr_t kHugePage = uintptr_t{2} << 20;

#ifndef MADV_COLLAPSE
constexpr int MADV_COLLAPSE = 25;  // Linux 6.1; older headers lack it
#endif

}  // namespace

bool HugePagesAllowed() {
  static const bool allowed = [] {
    FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f == nullptr) return false;
    char line[128] = {};
    const bool read = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    return read && std::strstr(line, "[never]") == nullptr;
  }();
  return allowed;
}

bool AdviseHugePages(void* p, size_t bytes) {
  if (p == nullptr || !HugePagesAllowed()) return false;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHugePage - 1);
  if (end <= begin) return false;
  void* const start = reinterpret_cast<void*>(begin);
  const size_t length = end - begin;
  if (madvise(start, length, MADV_HUGEPAGE) != 0) return false;
  // Fails with EINVAL on kernels before 6.1 and EAGAIN when memory is short;
  // either way the range stays advised for later faults and khugepaged.
  (void)madvise(start, length, MADV_COLLAPSE);
  return true;
}

size_t HugePageBytes(const void* p, size_t bytes) {
  FILE* f = std::fopen("/proc/self/smaps", "r");
  if (f == nullptr) return 0;
  const uintptr_t lo = reinterpret_cast<uintptr_t>(p);
  const uintptr_t hi = lo + bytes;
  size_t total = 0;
  bool overlaps = false;
  char line[512];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long start = 0, end = 0;
    // A mapping's first line: "start-end perms offset dev inode path".
    if (std::sscanf(line, "%lx-%lx ", &start, &end) == 2) {
      overlaps = start < hi && end > lo;
      continue;
    }
    size_t kib = 0;
    if (overlaps && std::sscanf(line, "AnonHugePages: %zu kB", &kib) == 1) total += kib << 10;
  }
  std::fclose(f);
  return total;
}

}  // namespace kissvdb
