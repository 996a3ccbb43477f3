#include "util/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace kissvdb {

namespace {

constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
constexpr uintptr_t kPage = 4096;  // x86-64 base pages (madvise's unit)

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

HugePageAdvice AdviseHugePages(void* p, size_t bytes) {
  if (p == nullptr || !HugePagesAllowed()) return HugePageAdvice::kNotMarked;
  const uintptr_t first = reinterpret_cast<uintptr_t>(p);
  const uintptr_t begin = (first + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (first + bytes) & ~(kHugePage - 1);
  if (end <= begin) return HugePageAdvice::kNotMarked;
  // Marked: every page the range touches, not only its whole huge pages. A
  // large malloc block is a mapping of its own that starts a few bytes
  // before p; marking only its aligned middle would split it into three
  // mappings with different flags, and mremap cannot move or grow a range
  // that spans several: realloc would then copy the block instead of
  // remapping it, with the old and the new copy resident at once (an
  // hnswlib graph doubling its capacity: +137 MB for a moment at 262,144
  // slots of 96-d vectors; bench/NOTES.md "Graph growth").
  const uintptr_t page_begin = first & ~(kPage - 1);
  const uintptr_t page_end = (first + bytes + kPage - 1) & ~(kPage - 1);
  if (madvise(reinterpret_cast<void*>(page_begin), page_end - page_begin, MADV_HUGEPAGE) != 0) {
    return HugePageAdvice::kNotMarked;
  }
  // Fails with EINVAL on kernels before 6.1 and EAGAIN when memory is short;
  // either way the range stays advised for later faults and khugepaged.
  if (madvise(reinterpret_cast<void*>(begin), end - begin, MADV_COLLAPSE) != 0) return HugePageAdvice::kMarked;
  return HugePageAdvice::kCollapsed;
}

HugePageUse HugePageUseOf(const void* p, size_t bytes) {
  HugePageUse use;
  FILE* f = std::fopen("/proc/self/smaps", "r");
  if (f == nullptr) return use;
  const uintptr_t lo = reinterpret_cast<uintptr_t>(p);
  const uintptr_t hi = bytes > UINTPTR_MAX - lo ? UINTPTR_MAX : lo + bytes;
  uintptr_t start = 0, end = 0;  // of the mapping whose lines are being read
  bool overlaps = false;
  char line[512];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    // A mapping's first line: "start-end perms offset dev inode path"; its
    // last one lists its flags, "VmFlags: rd wr mr mw me ac hg " (each flag ends with a space).
    // (Parsed into temporaries: sscanf assigns what matched even when it
    // fails later, and "AnonHugePages:" begins with the hex digit A.)
    unsigned long first = 0, last = 0;
    if (std::sscanf(line, "%lx-%lx ", &first, &last) == 2) {
      start = first;
      end = last;
      overlaps = start < hi && end > lo;
      continue;
    }
    if (!overlaps) continue;
    size_t kib = 0;
    if (std::sscanf(line, "AnonHugePages: %zu kB", &kib) == 1) {
      use.huge_bytes += kib << 10;
    } else if (std::strncmp(line, "VmFlags:", 8) == 0 && std::strstr(line, " hg ") != nullptr) {
      use.advised_bytes += end - start;
    }
  }
  std::fclose(f);
  return use;
}

}  // namespace kissvdb
