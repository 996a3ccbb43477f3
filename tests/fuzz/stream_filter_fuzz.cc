// Fuzzes the change-stream filter (src/stream/filter.h) as GET /v1/stream
// builds it from its query string, and the SSE frame of an event.
//
// Input: line 1 is a query string ("types=a,b&key_prefix=k&collection=c"),
// line 2 an event type, the rest the event's JSON data.
//
// Checked: no crash; equal filters have equal keys (a filter rebuilt from
// its own parts has the same key, the dispatcher shares frames by it);
// Matches() agrees with the documented rules; a rendered frame is one
// "event/id/data" block whose data line is JSON naming the same event.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "http/url.h"
#include "stream/filter.h"
#include "stream/frame.h"
#include "util/utf8.h"

namespace {

using namespace kissvdb;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "stream_filter_fuzz: %s\n", what);
    std::abort();
  }
}

std::string_view NextLine(std::string_view* in) {
  const size_t nl = in->find('\n');
  std::string_view line = in->substr(0, nl);
  in->remove_prefix(nl == std::string_view::npos ? in->size() : nl + 1);
  return line;
}

std::string QueryOr(const std::map<std::string, std::string>& q, const std::string& name,
                    const std::string& fallback) {
  auto it = q.find(name);
  return it == q.end() ? fallback : it->second;
}

// What docs/stream.md promises, written independently of Filter::Matches.
bool ExpectedMatch(const stream::Filter& f, const stream::EventFields& e) {
  bool type_ok = f.types().empty();
  for (const std::string& t : f.types()) type_ok |= t == e.type;
  const bool key_ok = f.key_prefix().empty() || (e.key && e.key->starts_with(f.key_prefix()));
  const bool collection_ok = f.collection().empty() || (e.collection && *e.collection == f.collection());
  return type_ok && key_ok && collection_ok;
}

void CheckFrame(const Event& event, const std::string& sse) {
  if (event.type.find_first_of("\r\n") != std::string::npos) return;  // the API refuses such types
  const std::string head = "event: " + event.type + "\nid: " + std::to_string(event.offset) + "\ndata: ";
  Check(sse.starts_with(head) && sse.ends_with("\n\n"), "frame is not event/id/data");
  const std::string_view data = std::string_view(sse).substr(head.size(), sse.size() - head.size() - 2);
  Check(data.find_first_of("\r\n") == std::string_view::npos, "data line spans lines");
  Json record = Json::parse(data.begin(), data.end(), nullptr, /*allow_exceptions=*/false);
  Check(record.is_object(), "data line is not a JSON object");
  const bool type_ok = !utf8::IsValid(event.type) || record["type"] == event.type;  // else U+FFFD
  Check(record["offset"] == event.offset && type_ok,
        "data line names another event");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(bytes), size);
  const std::string_view query_text = NextLine(&in);
  const std::string_view type = NextLine(&in);

  std::map<std::string, std::string> query;
  if (!http::ParseQuery(query_text, &query)) return 0;  // 400 before the filter is built
  stream::Filter filter(QueryOr(query, "types", ""), QueryOr(query, "key_prefix", QueryOr(query, "prefix", "")),
                        QueryOr(query, "collection", ""));

  std::string csv;
  for (const std::string& t : filter.types()) csv += (csv.empty() ? "" : ",") + t;
  const stream::Filter rebuilt(csv, filter.key_prefix(), filter.collection());
  Check(rebuilt.key() == filter.key(), "a filter rebuilt from its parts has another key");
  Check(filter.empty() == (filter.key() == stream::Filter().key()), "empty() disagrees with the key");

  Event event;
  event.offset = size;
  event.ts_ms = 1700000000000;
  event.type.assign(type);
  event.data = Json::parse(in.begin(), in.end(), nullptr, /*allow_exceptions=*/false);
  if (event.data.is_discarded()) event.data = Json(std::string(in));
  const stream::Frame frame = stream::MakeFrame(event);
  Check(filter.Matches(frame.fields) == ExpectedMatch(filter, frame.fields), "Matches() breaks the rules");
  CheckFrame(event, frame.sse);
  return 0;
}
