// The replay's fast read of KV put records: the fields and the value text
// equal what parsing the record and dumping its value give, for values of
// every shape; anything outside the one layout is left to the parser.
#include "engine/state_record.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "engine/wal/format.h"
#include "engine/wal/record.h"
#include "kissvdb/event.h"
#include "util/json_writer.h"

namespace kissvdb {
namespace {

// The payload a KV put is logged with (engine/state_ops.cc builds the data).
std::string Logged(const std::string& key, uint64_t revision, const Json& value, uint64_t expires) {
  Event ev;
  ev.offset = 7;
  ev.type = event_type::kStateUpdated;
  ev.data = Json{{"key", key}, {"revision", revision}, {"value", value}};
  ev.data["expires_at_ms"] = expires ? Json(expires) : Json(nullptr);
  std::string buf;
  wal::RecordEncoder encoder(&buf);
  EXPECT_TRUE(encoder.Append(ev).ok());
  wal::RecordView rec;
  EXPECT_EQ(wal::DecodeRecord(buf.data(), buf.size(), wal::kFormatVersion, &rec), wal::RecordStatus::kOk);
  return std::string(rec.payload);
}

TEST(StateRecordTest, ReadsWhatParsingReads) {
  const Json values[] = {
      Json("x"), Json(""), Json(0), Json(-1), Json(std::numeric_limits<uint64_t>::max()),
      Json(std::numeric_limits<int64_t>::min()), Json(0.1), Json(-0.0), Json(1e300), Json(3.0), Json(true),
      Json(nullptr), Json::array(), Json::object(), Json("caf\u00e9 \u2603 \U0001F600"),
      Json("quote \" backslash \\ newline \n tab \t nul") , Json(std::string("ctl\x01\x1f", 5)),
      Json::parse(R"({"b":[1,2.5,{"c":null}],"a":"}","z":{"}":"{"}})"), Json(std::string(70000, 'v'))};
  const std::string keys[] = {"k", "user:42", "caf\u00e9", std::string(500, 'k'), "}", "value:}{,"};
  for (const std::string& key : keys) {
    for (const Json& value : values) {
      for (uint64_t expires : {uint64_t{0}, uint64_t{1}, uint64_t{1765000000123}}) {
        const std::string payload = Logged(key, 3, value, expires);
        StatePutRecord got;
        ASSERT_TRUE(ReadStatePutRecord(payload, &got)) << payload.substr(0, 200);
        const Json parsed = Json::parse(payload);
        EXPECT_EQ(got.key, parsed.at("key").get<std::string>());
        EXPECT_EQ(got.revision, 3u);
        EXPECT_EQ(got.expires_at_ms, expires);
        EXPECT_EQ(got.value, DumpJson(parsed.at("value"))) << payload.substr(0, 200);
      }
    }
  }
}

TEST(StateRecordTest, LeavesEverythingElseToTheParser) {
  StatePutRecord got;
  // Keys with escapes: their bytes are not the key.
  EXPECT_FALSE(ReadStatePutRecord(Logged("a\"b", 1, Json(1), 0), &got));
  EXPECT_FALSE(ReadStatePutRecord(Logged("a\\b", 1, Json(1), 0), &got));
  EXPECT_FALSE(ReadStatePutRecord(Logged("a\nb", 1, Json(1), 0), &got));
  // Another layout: a member more or less, other numbers, truncation.
  for (const char* payload : {
           R"({"key":"k","revision":1,"value":1})",
           R"({"expires_at_ms":null,"key":"k","revision":1,"value":1,"x":2})",
           R"({"expires_at_ms":null,"key":"k","other":0,"revision":1,"value":1})",
           R"({"expires_at_ms":0,"key":"k","revision":1,"value":1})",
           R"({"expires_at_ms":-5,"key":"k","revision":1,"value":1})",
           R"({"expires_at_ms":null,"key":"k","revision":1.5,"value":1})",
           R"({"expires_at_ms":null,"key":"k","revision":01,"value":1})",
           R"({"expires_at_ms":null,"key":"k","revision":18446744073709551616,"value":1})",
           R"({"expires_at_ms":null,"key":"k","revision":1,"value":})",
           R"({"expires_at_ms":null,"key":"k","revision":1,"value":1)",
           R"({"expires_at_ms":null,"key":"k)",
           "",
       }) {
    EXPECT_FALSE(ReadStatePutRecord(payload, &got)) << payload;
  }
}

TEST(StateRecordTest, ABatchSortsItsPutsByKeyThenOffset) {
  StatePutBatch batch;
  EXPECT_TRUE(batch.empty());
  EXPECT_TRUE(batch.Sorted().empty());
  // Short keys and values too: a batch's entries point into its own bytes.
  const struct {
    uint64_t offset;
    const char* key;
    const char* value;
  } puts[] = {{10, "b", "1"}, {11, "a", "\"x\""}, {12, "b", "2"}, {13, "ab", "[]"}, {14, "a", "null"}};
  for (const auto& p : puts) {
    batch.Add(p.offset, p.offset * 100, StatePutRecord{p.key, p.value, p.offset + 1, p.offset == 13 ? 99u : 0u});
  }
  EXPECT_FALSE(batch.empty());
  auto order = [](const std::vector<StatePutBatch::Entry>& entries) {
    std::string out;
    for (const auto& e : entries) {
      out += std::string(e.key) + "@" + std::to_string(e.offset) + "=" + std::string(e.value) + " ";
    }
    return out;
  };
  EXPECT_EQ(order(batch.Sorted()), "a@11=\"x\" a@14=null ab@13=[] b@10=1 b@12=2 ");
  const auto& ab = batch.Sorted()[2];
  EXPECT_EQ(ab.ts_ms, 1300u);
  EXPECT_EQ(ab.revision, 14u);
  EXPECT_EQ(ab.expires_at_ms, 99u);
  // An Add after sorting sorts again; Clear empties it.
  batch.Add(15, 0, StatePutRecord{"", "0", 1, 0});
  EXPECT_EQ(order(batch.Sorted()), "@15=0 a@11=\"x\" a@14=null ab@13=[] b@10=1 b@12=2 ");
  batch.Clear();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(batch.bytes(), 0u);
  EXPECT_TRUE(batch.Sorted().empty());
}

}  // namespace
}  // namespace kissvdb
