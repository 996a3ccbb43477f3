#include "util/huge_pages.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>

namespace kissvdb {
namespace {

// 16 MiB of touched anonymous memory (what hnswlib's malloc gives a large
// index): no huge pages until advised, then the aligned part collapsed.
TEST(HugePagesTest, CollapsesTouchedMemory) {
  if (!HugePagesAllowed()) GTEST_SKIP() << "transparent huge pages are set to \"never\" here";
  const size_t bytes = size_t{16} << 20;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(madvise(p, bytes, MADV_NOHUGEPAGE), 0);  // as under THP "madvise", whatever the mode
  std::memset(p, 1, bytes);
  EXPECT_EQ(HugePageBytes(p, bytes), 0u);

  // Unaligned on purpose: the helper must round inward.
  char* const inner = static_cast<char*>(p) + 4096;
  ASSERT_TRUE(AdviseHugePages(inner, bytes - 8192));
  // At least the 6 whole 2 MiB pages inside; the kernel may fall short
  // only when it has no free huge page to give.
  EXPECT_GE(HugePageBytes(p, bytes), size_t{6} << 21);
  for (size_t i = 0; i < bytes; i += 4096) ASSERT_EQ(static_cast<char*>(p)[i], 1) << i;  // contents kept
  munmap(p, bytes);
}

TEST(HugePagesTest, TooSmallOrNullIsANoOp) {
  char small[4096];
  EXPECT_FALSE(AdviseHugePages(small, sizeof small));
  EXPECT_FALSE(AdviseHugePages(nullptr, size_t{64} << 20));
}

}  // namespace
}  // namespace kissvdb
