// Ring: the change stream's recent frames stay within max_bytes of real
// memory (what their strings hold allocated, not only their lengths).

#include "stream/ring.h"

#include <gtest/gtest.h>

#include <string>

namespace kissvdb::stream {
namespace {

// A frame rendered the way RenderEvent leaves it: `length` bytes in a buffer
// that grew by doubling.
Frame GrownFrame(uint64_t offset, size_t length) {
  Frame f;
  f.offset = offset;
  f.fields.type = "vector.upserted";
  for (size_t i = 0; i < length; ++i) f.sse.push_back(static_cast<char>('a' + i % 26));
  return f;
}

TEST(RingTest, BoundsTheMemoryItsFramesHold) {
  constexpr uint64_t kMaxBytes = 1 << 20;
  constexpr size_t kLength = 1100;  // grown to a 2 KiB buffer
  Ring ring(/*max_events=*/100000, kMaxBytes, /*next=*/1);
  for (uint64_t offset = 1; offset <= 5000; ++offset) ring.Append(GrownFrame(offset, kLength));
  EXPECT_LE(ring.bytes(), kMaxBytes);
  uint64_t held = 0;
  for (uint64_t offset = ring.first(); offset < ring.next(); ++offset) {
    const Frame& f = ring.at(offset);
    EXPECT_EQ(f.sse.size(), kLength);
    held += f.sse.capacity() + f.fields.type.capacity() + sizeof(Frame);
  }
  EXPECT_LE(held, ring.bytes()) << "the ring counts less than its frames hold";
  EXPECT_LE(held, kMaxBytes);
  // Kept at their length, not their growth: about max_bytes / (length +
  // overhead) frames fit, not half as many.
  EXPECT_GE(ring.size(), kMaxBytes / (kLength + 64 + sizeof(Frame)));
  EXPECT_EQ(ring.next(), 5001u);
}

}  // namespace
}  // namespace kissvdb::stream
