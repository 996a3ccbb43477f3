#pragma once

#include <cstddef>

namespace kissvdb {

// Asks the kernel to back [p, p + bytes) with transparent huge pages (2 MiB
// on x86-64): the pages of the range (rounded outward to whole 4 KiB pages,
// so that a malloc block's mapping stays one mapping that realloc can
// mremap) are marked MADV_HUGEPAGE, so that pages touched later come as
// huge pages, and the whole huge pages already there are collapsed now
// (MADV_COLLAPSE, Linux 6.1+) instead of whenever khugepaged gets to them.
//
// Why: an HNSW search reads a few hundred vectors scattered over the whole
// graph. With 4 KiB pages each read is a TLB miss, and the page walk needs
// page-table entries that the daemon's HTTP, TCP and JSON work keeps pushing
// out of the caches; with 2 MiB pages a 200 MB graph needs ~100 TLB entries.
// Measured (bench/NOTES.md, section 3, session 8): +11% searches/s over HTTP,
// while hnswlib searching alone in a process gains nothing.
//
// Best effort: nothing is done when THP is set to "never" (see
// HugePagesAllowed), a kernel without MADV_COLLAPSE only marks the range,
// and a kernel short of free 2 MiB pages marks it but collapses none or
// some (then later faults and khugepaged do what they can).
enum class HugePageAdvice {
  kNotMarked,   // THP "never", a null pointer, or no whole huge page inside
  kMarked,      // marked; the collapse was refused (old kernel, no free huge pages)
  kCollapsed,   // marked, and every touched huge page of it collapsed
};
HugePageAdvice AdviseHugePages(void* p, size_t bytes);

// False when /sys/kernel/mm/transparent_hugepage/enabled says "never" (or
// cannot be read): the administrator's choice, which MADV_COLLAPSE alone
// would ignore.
bool HugePagesAllowed();

// What /proc/self/smaps says of the mappings that overlap [p, p + bytes)
// (all zero if unreadable); for tests and diagnostics.
struct HugePageUse {
  size_t advised_bytes = 0;  // size of those mappings marked MADV_HUGEPAGE ("hg")
  size_t huge_bytes = 0;     // their memory in anonymous huge pages
};
HugePageUse HugePageUseOf(const void* p, size_t bytes);

}  // namespace kissvdb
