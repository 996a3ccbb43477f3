// Record and segment header codecs: round trips and damage detection.
#include "engine/wal/record.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/wal/format.h"
#include "util/crc32c.h"
#include "wal_test_util.h"

namespace kissvdb::wal {
namespace {

using testing::MakeEvent;

std::vector<Event> SampleEvents() {
  std::vector<Event> events;
  events.push_back(MakeEvent(1));
  Event e;
  e.offset = 2;
  e.ts_ms = 0;
  e.type = "";
  e.data = Json::object();
  events.push_back(e);
  e.offset = 3;
  e.ts_ms = UINT64_MAX;
  e.type = "user.type/é";
  e.data = Json{{"unicode", "héllo wörld ✓ 𝄞"},
                {"nested", {{"a", {1, 2.5, -3, nullptr, true}}, {"b", Json::object()}}},
                {"big", UINT64_MAX},
                {"neg", INT64_MIN},
                {"float", 1e-300},
                {"escape", "quote\" backslash\\ nl\n tab\t nul"}};
  e.data["escape"] = e.data["escape"].get<std::string>() + std::string(1, '\0');
  events.push_back(e);
  e.offset = UINT64_MAX - 1;
  e.type = std::string(kMaxTypeSize, 't');
  e.data = Json{{"blob", std::string(100000, 'z')}};
  events.push_back(e);
  return events;
}

TEST(RecordTest, RoundTrip) {
  for (const Event& want : SampleEvents()) {
    std::string buf;
    RecordEncoder encoder(&buf);
    ASSERT_TRUE(encoder.Append(want).ok());
    RecordView rec;
    ASSERT_EQ(DecodeRecord(buf.data(), buf.size(), kFormatVersion, &rec), RecordStatus::kOk);
    EXPECT_EQ(rec.size, buf.size());
    EXPECT_EQ(rec.offset, want.offset);
    EXPECT_EQ(rec.ts_ms, want.ts_ms);
    EXPECT_EQ(rec.type, want.type);
    // The payload is exactly Json::dump().
    EXPECT_EQ(rec.payload, want.data.dump());
    Event got;
    ASSERT_TRUE(ParseEvent(rec, &got).ok());
    testing::ExpectSameEvent(got, want);
  }
}

TEST(RecordTest, LayoutMatchesSpec) {
  Event e;
  e.offset = 0x0102030405060708ull;
  e.ts_ms = 42;
  e.type = "ab";
  e.data = Json{{"x", 1}};
  std::string buf;
  RecordEncoder encoder(&buf);
  ASSERT_TRUE(encoder.Append(e).ok());
  const std::string payload = R"({"x":1})";
  const uint32_t body = 8 + 8 + 4 + 4 + 2 + 2 + static_cast<uint32_t>(payload.size());
  ASSERT_EQ(buf.size(), 8 + body);
  EXPECT_EQ(DecodeFixed32(buf.data()), body);
  EXPECT_EQ(UnmaskCrc(DecodeFixed32(buf.data() + 4)),
            crc32c::Extend(crc32c::Value(buf.data(), 4), buf.data() + 8, body));
  EXPECT_EQ(static_cast<uint8_t>(buf[8]), 0x08);  // little-endian offset
  EXPECT_EQ(static_cast<uint8_t>(buf[15]), 0x01);
  EXPECT_EQ(DecodeFixed64(buf.data() + 16), 42u);
  EXPECT_EQ(DecodeFixed32(buf.data() + 24), 0u);  // unit: a unit of its own
  EXPECT_EQ(DecodeFixed32(buf.data() + 28), 0u);  // no floats
  EXPECT_EQ(DecodeFixed16(buf.data() + 32), 2u);
  EXPECT_EQ(buf.substr(34, 2), "ab");
  EXPECT_EQ(buf.substr(36), payload);
}

TEST(RecordTest, VectorFloatsAreLittleEndianBinary32BeforeTheJson) {
  Event e;
  e.offset = 7;
  e.ts_ms = 42;
  e.type = event_type::kVectorUpserted;
  e.data = Json{{"collection", "c"}, {"id", "a"}, {"meta", nullptr}};
  e.floats = {1.0f, -0.1f, 3.4028235e38f};
  std::string buf;
  RecordEncoder encoder(&buf);
  ASSERT_TRUE(encoder.Append(e).ok());
  const std::string payload = e.data.dump();
  const size_t t = e.type.size();
  ASSERT_EQ(buf.size(), 8 + 26 + t + 12 + payload.size());
  EXPECT_EQ(DecodeFixed32(buf.data() + 28), 3u);
  EXPECT_EQ(DecodeFixed32(buf.data() + 34 + t), 0x3F800000u);  // 1.0f
  EXPECT_EQ(DecodeFixed32(buf.data() + 38 + t), 0xBDCCCCCDu);  // -0.1f
  EXPECT_EQ(DecodeFixed32(buf.data() + 42 + t), 0x7F7FFFFFu);  // FLT_MAX
  EXPECT_EQ(buf.substr(46 + t), payload);
  RecordView rec;
  ASSERT_EQ(DecodeRecord(buf.data(), buf.size(), kFormatVersion, &rec), RecordStatus::kOk);
  Event got;
  ASSERT_TRUE(ParseEvent(rec, &got).ok());
  EXPECT_EQ(got.floats, e.floats);
  EXPECT_EQ(got.data, e.data);
}

TEST(RecordTest, OlderVersionsCarryTheVectorInTheJsonAndReadBackTheSame) {
  Event e;
  e.offset = 7;
  e.type = event_type::kVectorAdded;
  e.data = Json{{"collection", "c"}, {"id", "a"}, {"meta", {{"k", 1}}}};
  e.floats = {0.1f, 2.0f, -1e-30f, 16777217.0f};
  for (uint32_t version : {1u, 2u}) {
    std::string buf;
    RecordEncoder encoder(&buf, version);
    ASSERT_TRUE(encoder.Append(e).ok());
    RecordView rec;
    ASSERT_EQ(DecodeRecord(buf.data(), buf.size(), version, &rec), RecordStatus::kOk);
    EXPECT_TRUE(rec.floats.empty());
    const Json logged = Json::parse(rec.payload);
    ASSERT_TRUE(logged.contains("vector")) << logged.dump();
    EXPECT_EQ(logged["vector"][0].get<double>(), static_cast<double>(0.1f));
    Event got;
    ASSERT_TRUE(ParseEvent(rec, &got).ok());
    EXPECT_EQ(got.floats, e.floats) << "version " << version;
    EXPECT_EQ(got.data, e.data) << "version " << version;
  }
}

TEST(RecordTest, AnOldVectorThatIsNotFloat32StaysInTheJson) {
  // Never logged by any build, but a reader must not round it silently.
  for (const char* payload : {R"({"collection":"c","id":"a","vector":[0.1]})",
                              R"({"collection":"c","id":"a","vector":[1,"x"]})",
                              R"({"collection":"c","id":"a","vector":[1e300]})"}) {
    RecordView rec;
    rec.offset = 3;
    rec.type = event_type::kVectorUpserted;
    rec.payload = payload;
    Event got;
    ASSERT_TRUE(ParseEvent(rec, &got).ok());
    EXPECT_TRUE(got.floats.empty()) << payload;
    EXPECT_TRUE(got.data.contains("vector")) << payload;
  }
  // Other event types keep a "vector" member of their data as it is.
  RecordView rec;
  rec.offset = 3;
  rec.type = "user.thing";
  rec.payload = R"({"vector":[1.0,2.0]})";
  Event got;
  ASSERT_TRUE(ParseEvent(rec, &got).ok());
  EXPECT_TRUE(got.floats.empty());
  EXPECT_EQ(got.data["vector"].size(), 2u);
}

TEST(RecordTest, FloatsOverrunningBodyIsBadLayout) {
  Event e;
  e.offset = 1;
  e.type = "t";
  e.data = Json::object();
  e.floats = {1.0f, 2.0f};
  std::string buf;
  RecordEncoder encoder(&buf);
  ASSERT_TRUE(encoder.Append(e).ok());
  const uint32_t body = DecodeFixed32(buf.data());
  // Claim more floats than there is room for (the payload "{}" is 2 bytes),
  // with a checksum that matches.
  for (uint32_t count : {3u, 0x40000000u, 0xFFFFFFFFu}) {
    EncodeFixed32(buf.data() + 28, count);
    EncodeFixed32(buf.data() + 4, MaskCrc(crc32c::Extend(crc32c::Value(buf.data(), 4), buf.data() + 8, body)));
    RecordView view;
    EXPECT_EQ(DecodeRecord(buf.data(), buf.size(), kFormatVersion, &view), RecordStatus::kBadLayout) << count;
  }
}

TEST(RecordTest, VersionOneLayoutHasNoUnitField) {
  Event e;
  e.offset = 9;
  e.ts_ms = 42;
  e.type = "ab";
  e.data = Json{{"x", 1}};
  std::string buf;
  RecordEncoder encoder(&buf, /*version=*/1);
  ASSERT_TRUE(encoder.Append(e).ok());
  const std::string payload = R"({"x":1})";
  const uint32_t body = 8 + 8 + 2 + 2 + static_cast<uint32_t>(payload.size());
  ASSERT_EQ(buf.size(), 8 + body);
  EXPECT_EQ(DecodeFixed16(buf.data() + 24), 2u);
  EXPECT_EQ(buf.substr(26, 2), "ab");
  EXPECT_EQ(buf.substr(28), payload);
  RecordView rec;
  ASSERT_EQ(DecodeRecord(buf.data(), buf.size(), 1, &rec), RecordStatus::kOk);
  Event got;
  ASSERT_TRUE(ParseEvent(rec, &got).ok());
  testing::ExpectSameEvent(got, e);
  EXPECT_EQ(got.tx, 0u);
  // The same bytes are not a valid version 2 record.
  EXPECT_NE(DecodeRecord(buf.data(), buf.size(), 2, &rec), RecordStatus::kOk);
}

TEST(RecordTest, UnitFieldCarriesPositionAndMore) {
  // A unit of three events at offsets 10..12.
  std::string buf;
  RecordEncoder encoder(&buf);
  for (uint64_t off = 10; off <= 12; ++off) {
    Event e = MakeEvent(off);
    e.tx = 10;
    e.tx_more = off < 12;
    ASSERT_TRUE(encoder.Append(e).ok());
  }
  size_t pos = 0;
  for (uint64_t off = 10; off <= 12; ++off) {
    RecordView rec;
    ASSERT_EQ(DecodeRecord(buf.data() + pos, buf.size() - pos, kFormatVersion, &rec), RecordStatus::kOk);
    EXPECT_EQ(rec.unit & kUnitIndexMask, off - 10);
    EXPECT_EQ((rec.unit & kUnitMore) != 0, off < 12);
    Event got;
    ASSERT_TRUE(ParseEvent(rec, &got).ok());
    EXPECT_EQ(got.tx, 10u);
    EXPECT_EQ(got.tx_more, off < 12);
    pos += rec.size;
  }
  // A unit cannot start after the event.
  Event bad = MakeEvent(5);
  bad.tx = 6;
  EXPECT_EQ(encoder.Append(bad).code(), Code::kInvalidArgument);
}

TEST(RecordTest, ManyRecordsInOneBuffer) {
  std::string buf;
  RecordEncoder encoder(&buf);
  for (uint64_t i = 1; i <= 100; ++i) ASSERT_TRUE(encoder.Append(MakeEvent(i)).ok());
  size_t pos = 0;
  for (uint64_t i = 1; i <= 100; ++i) {
    RecordView rec;
    ASSERT_EQ(DecodeRecord(buf.data() + pos, buf.size() - pos, kFormatVersion, &rec), RecordStatus::kOk);
    EXPECT_EQ(rec.offset, i);
    pos += rec.size;
  }
  EXPECT_EQ(pos, buf.size());
}

TEST(RecordTest, RejectsUnencodableEventsAndLeavesBufferAlone) {
  std::string buf;
  RecordEncoder encoder(&buf);
  ASSERT_TRUE(encoder.Append(MakeEvent(1)).ok());
  const std::string before = buf;

  Event bad_utf8 = MakeEvent(2);
  bad_utf8.data["s"] = std::string("\xff\xfe");
  EXPECT_EQ(encoder.Append(bad_utf8).code(), Code::kInvalidArgument);
  EXPECT_EQ(buf, before);

  Event long_type = MakeEvent(2);
  long_type.type = std::string(kMaxTypeSize + 1, 't');
  EXPECT_EQ(encoder.Append(long_type).code(), Code::kInvalidArgument);
  EXPECT_EQ(buf, before);

  // The encoder is still usable after a failure.
  ASSERT_TRUE(encoder.Append(MakeEvent(2)).ok());
  RecordView rec;
  ASSERT_EQ(DecodeRecord(buf.data() + before.size(), buf.size() - before.size(), kFormatVersion, &rec),
            RecordStatus::kOk);
  EXPECT_EQ(rec.offset, 2u);
}

TEST(RecordTest, DetectsEveryBitFlip) {
  std::string buf;
  RecordEncoder encoder(&buf);
  ASSERT_TRUE(encoder.Append(MakeEvent(7)).ok());
  for (size_t pos = 0; pos < buf.size(); ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = buf;
      damaged[pos] = static_cast<char>(damaged[pos] ^ (1 << bit));
      RecordView rec;
      EXPECT_NE(DecodeRecord(damaged.data(), damaged.size(), kFormatVersion, &rec), RecordStatus::kOk)
          << "byte " << pos << " bit " << bit;
    }
  }
}

TEST(RecordTest, EveryTruncationIsIncomplete) {
  std::string buf;
  RecordEncoder encoder(&buf);
  ASSERT_TRUE(encoder.Append(MakeEvent(7)).ok());
  for (size_t n = 0; n < buf.size(); ++n) {
    RecordView rec;
    EXPECT_EQ(DecodeRecord(buf.data(), n, kFormatVersion, &rec), RecordStatus::kIncomplete) << n;
  }
}

TEST(RecordTest, ZeroFillIsBadLength) {
  const std::string zeros(64, '\0');
  RecordView rec;
  EXPECT_EQ(DecodeRecord(zeros.data(), zeros.size(), kFormatVersion, &rec), RecordStatus::kBadLength);
}

TEST(RecordTest, TypeLengthOverrunningBodyIsBadLayout) {
  // A record whose checksum is right but whose type length is too big can
  // only be built by hand.
  std::string rec(8 + 26, '\0');
  EncodeFixed32(rec.data(), 26);
  EncodeFixed64(rec.data() + 8, 1);
  EncodeFixed16(rec.data() + 8 + 24, 5);
  EncodeFixed32(rec.data() + 4,
                MaskCrc(crc32c::Extend(crc32c::Value(rec.data(), 4), rec.data() + 8, 26)));
  RecordView view;
  EXPECT_EQ(DecodeRecord(rec.data(), rec.size(), kFormatVersion, &view), RecordStatus::kBadLayout);
}

TEST(RecordTest, NonJsonPayloadIsCorruption) {
  RecordView rec;
  rec.offset = 9;
  rec.payload = "{not json";
  Event e;
  const Status s = ParseEvent(rec, &e);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("offset 9"), std::string::npos) << s.message();
}

TEST(RecordTest, MaskRoundTrip) {
  for (uint32_t v : {0u, 1u, 0xE3069283u, 0xFFFFFFFFu, 0x80000000u}) {
    EXPECT_EQ(UnmaskCrc(MaskCrc(v)), v);
    EXPECT_NE(MaskCrc(v), v);
  }
}

TEST(SegmentHeaderTest, RoundTripAndDamage) {
  char header[kSegmentHeaderSize];
  EncodeSegmentHeader(SegmentHeader{12, 345}, header);
  EXPECT_EQ(std::memcmp(header, "KVDB-WAL", 8), 0);
  EXPECT_EQ(DecodeFixed32(header + 8), kFormatVersion);
  SegmentHeader h;
  ASSERT_TRUE(DecodeSegmentHeader(header, &h).ok());
  EXPECT_EQ(h.seq, 12u);
  EXPECT_EQ(h.first_offset, 345u);
  for (size_t pos = 0; pos < kSegmentHeaderSize; ++pos) {
    char damaged[kSegmentHeaderSize];
    std::memcpy(damaged, header, sizeof(damaged));
    damaged[pos] ^= 0x10;
    EXPECT_EQ(DecodeSegmentHeader(damaged, &h).code(), Code::kCorruption) << pos;
  }
}

TEST(SegmentHeaderTest, FileNames) {
  EXPECT_EQ(SegmentFileName(1), "events-000001.log");
  EXPECT_EQ(SegmentFileName(1234567), "events-1234567.log");
  uint32_t seq = 0;
  EXPECT_TRUE(ParseSegmentFileName("events-000042.log", &seq));
  EXPECT_EQ(seq, 42u);
  EXPECT_TRUE(ParseSegmentFileName("events-1234567.log", &seq));
  EXPECT_EQ(seq, 1234567u);
  for (const char* bad :
       {"events-000042.log.tmp", "events-42.log", "events-0000042.log", "events-000000.log",
        "events-00004a.log", "x-000042.log", "events-99999999999.log"}) {
    EXPECT_FALSE(ParseSegmentFileName(bad, &seq)) << bad;
  }
}

}  // namespace
}  // namespace kissvdb::wal
