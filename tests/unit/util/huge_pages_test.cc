#include "util/huge_pages.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace kissvdb {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// 16 MiB of touched anonymous memory (what hnswlib's malloc gives a large
// index): not advised and in no huge page until AdviseHugePages, then the
// aligned part marked and, when the kernel has free 2 MiB pages, collapsed.
TEST(HugePagesTest, MarksAndCollapsesTouchedMemory) {
  if (!HugePagesAllowed()) GTEST_SKIP() << "transparent huge pages are set to \"never\" here";
  const size_t bytes = size_t{16} << 20;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(madvise(p, bytes, MADV_NOHUGEPAGE), 0);  // as under THP "madvise", whatever the mode
  std::memset(p, 1, bytes);
  EXPECT_EQ(HugePageUseOf(p, bytes).advised_bytes, 0u);
  EXPECT_EQ(HugePageUseOf(p, bytes).huge_bytes, 0u);

  // Not aligned to huge pages on purpose: the pages of the range are
  // marked (4 KiB rounding), and the 6 or 7 whole huge pages inside can be
  // collapsed.
  char* const inner = static_cast<char*>(p) + 4096;
  const HugePageAdvice advice = AdviseHugePages(inner, bytes - 8192);
  ASSERT_NE(advice, HugePageAdvice::kNotMarked);
  const HugePageUse use = HugePageUseOf(p, bytes);
  EXPECT_EQ(use.advised_bytes, bytes - 8192);
  if (advice == HugePageAdvice::kCollapsed) {
    EXPECT_GE(use.huge_bytes, 6 * kHugePage);
  } else {
    // Whether the kernel has free 2 MiB pages is not this code's to decide
    // (seen in CI: a fragmented machine under a parallel test run).
    std::printf("MADV_COLLAPSE refused (kernel short of huge pages?); %zu MiB collapsed\n", use.huge_bytes >> 20);
  }
  for (size_t i = 0; i < bytes; i += 4096) ASSERT_EQ(static_cast<char*>(p)[i], 1) << i;  // contents kept
  munmap(p, bytes);
}

// A large malloc block is a mapping of its own that begins 16 bytes before
// the pointer. Advising the block must leave it one mapping: mremap (which
// realloc uses to grow it) fails with EFAULT on a range spanning several,
// and realloc then copies the whole block, old and new resident at once.
TEST(HugePagesTest, AnAdvisedBlockCanStillBeRemapped) {
  if (!HugePagesAllowed()) GTEST_SKIP() << "transparent huge pages are set to \"never\" here";
  const size_t bytes = size_t{24} << 20;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  std::memset(p, 1, bytes);
  char* const block = static_cast<char*>(p) + 16;  // where malloc's pointer would be
  ASSERT_NE(AdviseHugePages(block, bytes - 16), HugePageAdvice::kNotMarked);
  void* q = mremap(p, bytes, 2 * bytes, MREMAP_MAYMOVE);
  ASSERT_NE(q, MAP_FAILED) << std::strerror(errno);
  for (size_t i = 0; i < bytes; i += 4096) ASSERT_EQ(static_cast<char*>(q)[i], 1) << i;
  munmap(q, 2 * bytes);
}

TEST(HugePagesTest, TooSmallOrNullIsANoOp) {
  char small[4096];
  EXPECT_EQ(AdviseHugePages(small, sizeof small), HugePageAdvice::kNotMarked);
  EXPECT_EQ(AdviseHugePages(nullptr, size_t{64} << 20), HugePageAdvice::kNotMarked);
}

}  // namespace
}  // namespace kissvdb
