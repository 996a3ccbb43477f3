// GET /v1/stream and GET /v1/events (the change stream) against the real
// binary over real sockets: replay then tail, filters, resume across a
// restart, slow consumers, many subscribers, retention.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Frame {
  std::string event;
  std::optional<uint64_t> id;
  std::string data;
  std::string comment;
  json record() const { return json::parse(data); }
};

// Complete frames of an SSE body.
std::vector<Frame> ParseSse(const std::string& body) {
  std::vector<Frame> out;
  size_t pos = 0;
  for (size_t end; (end = body.find("\n\n", pos)) != std::string::npos; pos = end + 2) {
    Frame f;
    for (size_t line = pos; line < end;) {
      size_t nl = std::min(body.find('\n', line), end);
      std::string_view l(body.data() + line, nl - line);
      if (l.rfind(":", 0) == 0) f.comment = std::string(l.substr(1));
      if (l.rfind("event: ", 0) == 0) f.event = std::string(l.substr(7));
      if (l.rfind("id: ", 0) == 0) f.id = std::stoull(std::string(l.substr(4)));
      if (l.rfind("data: ", 0) == 0) f.data = std::string(l.substr(6));
      line = nl + 1;
    }
    out.push_back(std::move(f));
  }
  return out;
}

// The ids of the event frames (synthetic frames excluded).
std::vector<uint64_t> EventIds(const std::vector<Frame>& frames) {
  std::vector<uint64_t> ids;
  for (const Frame& f : frames) {
    if (f.id && f.event != "gap") ids.push_back(*f.id);
  }
  return ids;
}

std::vector<uint64_t> Range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

// Exactly from..to, each once, in order; names the first difference.
::testing::AssertionResult IsRange(const std::vector<uint64_t>& ids, uint64_t from, uint64_t to) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] != from + i) {
      return ::testing::AssertionFailure() << "at index " << i << ": id " << ids[i] << ", expected " << from + i
                                           << " (previous " << (i ? std::to_string(ids[i - 1]) : "none") << ")";
    }
  }
  if (ids.size() != to - from + 1) {
    return ::testing::AssertionFailure() << ids.size() << " ids " << from << ".."
                                         << (ids.empty() ? 0 : ids.back()) << ", expected " << from << ".." << to;
  }
  return ::testing::AssertionSuccess();
}

// Predicates for HttpStream::ReadUntil that only scan what is new: the
// frame containing `needle` has arrived completely.
auto Contains(std::string needle) {
  return [needle = std::move(needle), scanned = size_t{0}, found = std::string::npos](const std::string& d) mutable {
    if (found == std::string::npos) {
      const size_t from = scanned > needle.size() ? scanned - needle.size() : 0;
      scanned = d.size();
      found = d.find(needle, from);
      if (found == std::string::npos) return false;
    }
    return d.find("\n\n", found) != std::string::npos;
  };
}
// The event frame with id `id` has arrived.
auto HasId(uint64_t id) { return Contains("\nid: " + std::to_string(id) + "\n"); }
auto HasEvent(const std::string& type) { return Contains("event: " + type + "\n"); }

// A subscriber that stops reading: a tiny receive buffer (set before
// connect, so the window stays small) and nothing read until ReadToEnd.
class StalledClient {
 public:
  StalledClient(uint16_t port, const std::string& target, const std::string& token) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\n\r\n";
    connected_ = connected_ && ::write(fd_, req.data(), req.size()) == static_cast<ssize_t>(req.size());
  }
  ~StalledClient() { ::close(fd_); }
  bool connected() const { return connected_; }

  // Reads until the server closes (bounded); the de-chunked body, or "" on timeout.
  std::string ReadBodyToEnd(std::chrono::seconds timeout) {
    timeval tv{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::string raw;
    char buf[65536];
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      const ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n == 0) break;
      if (n > 0) raw.append(buf, static_cast<size_t>(n));
    }
    if (Clock::now() >= deadline) return "";
    size_t pos = raw.find("\r\n\r\n");
    if (pos == std::string::npos || raw.rfind("HTTP/1.1 200", 0) != 0) return "";
    pos += 4;
    std::string body;
    while (pos < raw.size()) {
      const size_t eol = raw.find("\r\n", pos);
      if (eol == std::string::npos) break;
      const size_t size = std::stoul(raw.substr(pos, eol - pos), nullptr, 16);
      if (size == 0) break;
      body.append(raw, eol + 2, size);
      pos = eol + 2 + size + 2;
    }
    return body;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class StreamTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> args = {}) {
    TestServerOptions o;
    o.args = std::move(args);
    server_ = std::make_unique<TestServer>(o);
    ASSERT_TRUE(server_->Start()) << server_->output();
    client_ = server_->Client();
  }
  std::unique_ptr<HttpStream> Open(const std::string& target, const Headers& headers = {}) {
    return std::make_unique<HttpStream>(server_->port(), target, server_->api_key(), headers);
  }
  // Every event of the log (GET /v1/log pages).
  std::vector<json> Log(uint64_t since = 0) {
    std::vector<json> out;
    while (true) {
      auto page = client_->Get("/v1/log?since=" + std::to_string(since) + "&limit=1000");
      EXPECT_EQ(page.status, 200) << page.body;
      if (page.status != 200 || page.json["events"].empty()) return out;
      for (const json& ev : page.json["events"]) out.push_back(ev);
      since = page.json["next_since"].get<uint64_t>();
    }
  }
  uint64_t LastOffset() { return client_->Get("/v1/log?since=0&limit=0").json["last_offset"].get<uint64_t>(); }
  void PutMany(const std::string& prefix, int n, size_t value_bytes = 8) {
    json ops = json::array();
    for (int i = 0; i < n; ++i) {
      ops.push_back({{"key", prefix + std::to_string(i)}, {"value", std::string(value_bytes, 'v')}});
      if (ops.size() == 100 || i == n - 1) {
        auto r = client_->Post("/v1/state/batch_put", {{"operations", ops}});
        ASSERT_EQ(r.status, 200) << r.body;
        ops = json::array();
      }
    }
  }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(StreamTest, StreamHeadAndFrameShapes) {
  StartServer();
  ASSERT_EQ(client_->Put("/v1/state/a", {{"value", {{"x", 1}}}}).status, 200);
  auto s = Open("/v1/stream");
  ASSERT_EQ(s->status(), 200) << s->error();
  EXPECT_EQ(s->header("content-type"), "text/event-stream");
  EXPECT_EQ(s->header("cache-control"), "no-cache");
  ASSERT_TRUE(s->ReadUntil(HasId(1)));
  auto frames = ParseSse(s->data());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].event, "state_updated");
  EXPECT_EQ(frames[0].id, 1u);
  json rec = frames[0].record();
  EXPECT_EQ(rec["offset"], 1);
  EXPECT_EQ(rec["type"], "state_updated");
  EXPECT_TRUE(rec["ts_ms"].is_number_unsigned());
  EXPECT_EQ(rec["data"]["key"], "a");
  EXPECT_EQ(rec["data"]["value"], (json{{"x", 1}}));
  EXPECT_EQ(rec["data"]["revision"], 1);
  // The wire order of the original: offset, ts_ms, type, data.
  EXPECT_EQ(frames[0].data.rfind("{\"offset\":1,\"ts_ms\":", 0), 0u) << frames[0].data;
}

TEST_F(StreamTest, ReplayThenTailWithConcurrentWritersIsExactlyOnceInOrder) {
  StartServer();
  PutMany("pre", 3000);
  // After a restart the broadcaster's ring starts at offset 3001, so the
  // subscribers below replay from the log and then switch to live delivery
  // while the writers commit.
  ASSERT_TRUE(server_->Restart()) << server_->output();
  client_ = server_->Client();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      HttpClient c(server_->port(), server_->api_key());
      for (int i = 0; !stop; ++i) {
        auto r = i % 3 == 0 ? c.Post("/v1/events", {{"type", "w" + std::to_string(w)}, {"data", {{"i", i}}}})
                            : c.Put("/v1/state/w" + std::to_string(w) + "-" + std::to_string(i % 50),
                                    {{"value", i}});
        if (r.status != 200) ++failures;
      }
    });
  }
  // Subscribers join at different points while the writers run.
  std::vector<std::pair<uint64_t, std::unique_ptr<HttpStream>>> subs;
  for (uint64_t since : {0, 1500, 3000}) {
    subs.emplace_back(since, Open("/v1/stream?since=" + std::to_string(since)));
    ASSERT_EQ(subs.back().second->status(), 200);
    std::this_thread::sleep_for(150ms);
  }
  auto now = Open("/v1/stream?since=now");
  ASSERT_EQ(now->status(), 200);
  std::this_thread::sleep_for(300ms);
  // Enough live writes to cross the subscribers' switch from replay to live
  // delivery, however slow the machine (a sanitizer build on a busy one
  // wrote only 85 in the fixed wait).
  for (const auto deadline = Clock::now() + 60s; LastOffset() <= 3100 && Clock::now() < deadline;) {
    std::this_thread::sleep_for(50ms);
  }
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  const uint64_t last = LastOffset();
  ASSERT_GT(last, 3100u);
  for (auto& [since, s] : subs) {
    ASSERT_TRUE(s->ReadUntil(HasId(last), 20s)) << "since " << since;
    EXPECT_TRUE(IsRange(EventIds(ParseSse(s->data())), since + 1, last)) << "since " << since;
  }
  ASSERT_TRUE(now->ReadUntil(HasId(last), 20s));
  auto ids = EventIds(ParseSse(now->data()));
  ASSERT_FALSE(ids.empty());
  EXPECT_GT(ids.front(), 3000u);
  EXPECT_TRUE(IsRange(ids, ids.front(), last)) << "since=now: contiguous from its start";
}

TEST_F(StreamTest, FiltersAndTheirCombination) {
  StartServer();
  ASSERT_EQ(client_->Post("/v1/vector/va", {{"dim", 2}, {"metric", "cosine"}}).status, 200);
  ASSERT_EQ(client_->Post("/v1/vector/vb", {{"dim", 2}, {"metric", "cosine"}}).status, 200);
  for (int i = 0; i < 6; ++i) {
    const std::string id = std::to_string(i);
    ASSERT_EQ(client_->Put("/v1/state/user:" + id, {{"value", i}}).status, 200);
    ASSERT_EQ(client_->Put("/v1/state/order:" + id, {{"value", i}}).status, 200);
    ASSERT_EQ(client_->Post(std::string("/v1/vector/") + (i % 2 ? "va" : "vb") + "/upsert",
                            {{"id", id}, {"vector", {1.0, float(i)}}})
                  .status,
              200);
    ASSERT_EQ(client_->Put("/v1/doc/va/" + id, {{"n", i}}).status, 200);
    ASSERT_EQ(client_->Post("/v1/events", {{"type", "app.tick"}, {"data", {{"i", i}}}}).status, 200);
  }
  ASSERT_EQ(client_->Delete("/v1/state/user:0").status, 200);
  const std::vector<json> log = Log();
  ASSERT_GT(log.size(), 30u);

  struct Case {
    std::string query;
    std::function<bool(const json&)> want;
  };
  auto key_starts = [](const json& ev, const std::string& p) {
    return ev["data"].contains("key") && ev["data"]["key"].is_string() &&
           ev["data"]["key"].get<std::string>().rfind(p, 0) == 0;
  };
  auto coll_is = [](const json& ev, const std::string& c) {
    return ev["data"].contains("collection") && ev["data"]["collection"] == c;
  };
  const std::vector<Case> cases = {
      {"/v1/stream?types=state_updated", [](const json& ev) { return ev["type"] == "state_updated"; }},
      {"/v1/stream?types=state_deleted,app.tick",
       [](const json& ev) { return ev["type"] == "state_deleted" || ev["type"] == "app.tick"; }},
      {"/v1/stream?key_prefix=user%3A", [&](const json& ev) { return key_starts(ev, "user:"); }},
      {"/v1/stream?collection=va", [&](const json& ev) { return coll_is(ev, "va"); }},
      {"/v1/stream?types=vector_upserted&collection=va",
       [&](const json& ev) { return ev["type"] == "vector_upserted" && coll_is(ev, "va"); }},
      {"/v1/stream?types=state_updated,state_deleted&key_prefix=user%3A",
       [&](const json& ev) { return ev["type"].get<std::string>().rfind("state_", 0) == 0 && key_starts(ev, "user:"); }},
      {"/v1/stream?key_prefix=user%3A&collection=va", [](const json&) { return false; }},
      // The original alias: prefix = key_prefix.
      {"/v1/events?prefix=order%3A", [&](const json& ev) { return key_starts(ev, "order:"); }},
      {"/v1/events?types=doc_updated", [](const json& ev) { return ev["type"] == "doc_updated"; }},
  };
  const uint64_t last = log.back()["offset"].get<uint64_t>();
  for (const Case& c : cases) {
    std::vector<uint64_t> want;
    for (const json& ev : log) {
      if (c.want(ev)) want.push_back(ev["offset"].get<uint64_t>());
    }
    auto s = Open(c.query + "&checkpoint_secs=1");
    ASSERT_EQ(s->status(), 200) << c.query;
    // The checkpoint (quiet feed) or the last matching event ends the wait.
    const std::string cp = "event: checkpoint\ndata: {\"offset\":" + std::to_string(last) + "}";
    auto has_cp = Contains(cp);
    auto has_last = HasId(want.empty() ? 0 : want.back());
    ASSERT_TRUE(s->ReadUntil([&](const std::string& d) { return has_cp(d) || (!want.empty() && has_last(d)); }, 5s))
        << c.query << "\n" << s->data();
    EXPECT_EQ(EventIds(ParseSse(s->data())), want) << c.query;
    for (const Frame& f : ParseSse(s->data())) {
      if (f.id) {
        EXPECT_EQ(f.record()["offset"], *f.id);
      }
    }
  }
}

TEST_F(StreamTest, ResumeWithLastEventIdAcrossRestart) {
  StartServer();
  PutMany("a", 120);
  uint64_t resume = 0;
  {
    auto s = Open("/v1/stream?since=0");
    ASSERT_TRUE(s->ReadUntil(HasId(120)));
    auto ids = EventIds(ParseSse(s->data()));
    ASSERT_EQ(ids, Range(1, 120));
    resume = 77;  // the client processed up to 77 when it went away
  }
  ASSERT_TRUE(server_->Restart()) << server_->output();
  client_ = server_->Client();
  PutMany("b", 50);
  // Last-Event-ID overrides since.
  auto s = Open("/v1/stream?since=3", {{"Last-Event-ID", std::to_string(resume)}});
  ASSERT_EQ(s->status(), 200);
  ASSERT_TRUE(s->ReadUntil(HasId(170)));
  EXPECT_TRUE(IsRange(EventIds(ParseSse(s->data())), resume + 1, 170));
  ASSERT_EQ(client_->Put("/v1/state/after", {{"value", 1}}).status, 200);
  ASSERT_TRUE(s->ReadUntil(HasId(171)));
  EXPECT_TRUE(IsRange(EventIds(ParseSse(s->data())), resume + 1, 171));
}

TEST_F(StreamTest, SlowConsumerIsCutOffWithResumeOffsetWhileWritersKeepThroughput) {
  // Keepalives every second also bound how long the reader thread below can
  // sit in a blocking read once the writes stop.
  StartServer({"--sse-buffer-events", "64", "--sse-keepalive-secs", "1"});
  json ops = json::array();
  for (int i = 0; i < 100; ++i) ops.push_back({{"key", "k" + std::to_string(i)}, {"value", std::string(2000, 'x')}});
  // The same writes with no subscriber at all: what this machine and build
  // take for them (a fixed bound failed under ASan on a slow machine: 22-25 s
  // for writes the release build does in ~1 s).
  constexpr int kQuiet = 10;
  const auto q0 = Clock::now();
  for (int r = 0; r < kQuiet; ++r) ASSERT_EQ(client_->Post("/v1/state/batch_put", {{"operations", ops}}).status, 200);
  const double quiet_per_request_s = std::chrono::duration<double>(Clock::now() - q0).count() / kQuiet;
  auto fast = Open("/v1/stream?since=0");
  ASSERT_EQ(fast->status(), 200);
  StalledClient slow(server_->port(), "/v1/stream?since=0", server_->api_key());
  ASSERT_TRUE(slow.connected());
  // ~8 MB of events: more than the socket buffers plus the 64-event budget.
  std::atomic<bool> writing{true};
  std::thread reader([&] {
    while (writing) fast->ReadUntil([](const std::string&) { return false; }, 20ms);
  });
  const auto t0 = Clock::now();
  double worst_ms = 0;
  constexpr int kRequests = 40;
  for (int r = 0; r < kRequests; ++r) {
    const auto w0 = Clock::now();
    auto res = client_->Post("/v1/state/batch_put", {{"operations", ops}});
    worst_ms = std::max(worst_ms, std::chrono::duration<double, std::milli>(Clock::now() - w0).count());
    ASSERT_EQ(res.status, 200) << res.body;
    if (r == kRequests / 2) std::this_thread::sleep_for(600ms);  // past the slow-consumer grace
  }
  const double total_s = std::chrono::duration<double>(Clock::now() - t0).count();
  writing = false;
  reader.join();
  const uint64_t last = LastOffset();
  ASSERT_EQ(last, 100u * (kQuiet + kRequests));
  // Writers were never held up by the stalled subscriber: no request waited
  // long, and all of them took at most a few times what the same writes
  // took with no subscriber (plus the pause above).
  EXPECT_LT(worst_ms, 2000.0);
  EXPECT_LT(total_s, 0.6 + 3.0 * quiet_per_request_s * kRequests + 1.0)
      << "without subscribers " << quiet_per_request_s << " s per request";
  ASSERT_TRUE(fast->ReadUntil(HasId(last), 20s));
  EXPECT_TRUE(IsRange(EventIds(ParseSse(fast->data())), 1, last));

  // The slow one: what was queued, then a final gap, then the end.
  const std::string body = slow.ReadBodyToEnd(20s);
  auto frames = ParseSse(body);
  ASSERT_FALSE(frames.empty());
  const Frame& gap = frames.back();
  ASSERT_EQ(gap.event, "gap") << body.substr(body.size() - std::min<size_t>(500, body.size()));
  const uint64_t resume = gap.record()["resume_since"].get<uint64_t>();
  EXPECT_EQ(gap.id, resume);
  EXPECT_EQ(gap.record()["reason"], "slow_consumer");
  EXPECT_EQ(gap.record()["from_offset"], resume + 1);
  EXPECT_TRUE(IsRange(EventIds(frames), 1, resume)) << "everything before the gap, nothing skipped";
  EXPECT_LT(resume, last);

  // Reconnecting with Last-Event-ID catches up from the log.
  auto again = Open("/v1/stream", {{"Last-Event-ID", std::to_string(resume)}});
  ASSERT_TRUE(again->ReadUntil(HasId(last), 20s));
  EXPECT_TRUE(IsRange(EventIds(ParseSse(again->data())), resume + 1, last));
  auto metrics = client_->Get("/v1/metrics");
  EXPECT_NE(metrics.body.find("sse_slow_disconnects_total 1"), std::string::npos);
}

TEST_F(StreamTest, TwoHundredConcurrentSubscribers) {
  StartServer();
  PutMany("pre", 50);
  std::vector<std::unique_ptr<HttpStream>> subs;
  for (int i = 0; i < 200; ++i) {
    subs.push_back(Open(i % 2 ? "/v1/stream?since=0" : "/v1/stream?since=now"));
    ASSERT_EQ(subs.back()->status(), 200) << i << " " << subs.back()->error();
  }
  auto metrics = client_->Get("/v1/metrics");
  EXPECT_NE(metrics.body.find("sse_clients 200"), std::string::npos);
  std::thread writer([&] {
    HttpClient c(server_->port(), server_->api_key());
    for (int i = 0; i < 150; ++i) ASSERT_EQ(c.Put("/v1/state/live" + std::to_string(i), {{"value", i}}).status, 200);
  });
  writer.join();
  const uint64_t last = LastOffset();
  ASSERT_EQ(last, 200u);
  for (size_t i = 0; i < subs.size(); ++i) {
    ASSERT_TRUE(subs[i]->ReadUntil(HasId(last), 10s)) << i;
    auto ids = EventIds(ParseSse(subs[i]->data()));
    if (i % 2) {
      EXPECT_TRUE(IsRange(ids, 1, last)) << i;
    } else {
      EXPECT_TRUE(IsRange(ids, 51, last)) << i;
    }
  }
  subs.clear();
  const auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline &&
         client_->Get("/v1/metrics").body.find("sse_clients 0") == std::string::npos) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(client_->Get("/v1/metrics").body.find("sse_clients 0"), std::string::npos);
}

TEST_F(StreamTest, CompactedOffsetGetsATypedEvent) {
  StartServer({"--wal-segment-max-bytes", "4096", "--wal-retention-segments", "1", "--snapshot-interval-secs", "1"});
  PutMany("k", 400, 64);
  // Wait for a checkpoint to let retention delete the old segments.
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline && client_->Get("/v1/log?since=0&limit=1").status != 410) {
    std::this_thread::sleep_for(100ms);
  }
  auto gone = client_->Get("/v1/log?since=0&limit=1");
  ASSERT_EQ(gone.status, 410) << gone.body;
  auto s = Open("/v1/stream?since=0");
  ASSERT_EQ(s->status(), 200);
  ASSERT_TRUE(s->ReadToEnd(5s));
  auto frames = ParseSse(s->data());
  ASSERT_EQ(frames.size(), 1u) << s->data();
  EXPECT_EQ(frames[0].event, "compacted");
  EXPECT_FALSE(frames[0].id.has_value());
  json d = frames[0].record();
  EXPECT_EQ(d["requested_since"], 0);
  uint64_t oldest = d["oldest_available"].get<uint64_t>();
  EXPECT_GT(oldest, 1u);
  EXPECT_EQ(d["resume_since"], oldest - 1);
  // Resuming where the compacted event says works and is complete. A
  // checkpoint that covers the last writes may still be deleting segments
  // (the 410 above can come from one during the writes): then the stream
  // says where to resume again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto ok = Open("/v1/stream?since=" + std::to_string(oldest - 1));
    if (ok->ReadUntil(HasId(400))) {
      EXPECT_TRUE(IsRange(EventIds(ParseSse(ok->data())), oldest, 400));
      return;
    }
    auto again = ParseSse(ok->data());
    ASSERT_FALSE(again.empty()) << ok->data();
    ASSERT_EQ(again.back().event, "compacted") << ok->data();
    const uint64_t later = again.back().record()["oldest_available"].get<uint64_t>();
    ASSERT_GT(later, oldest) << "compacted again without moving: " << ok->data();
    oldest = later;
  }
  FAIL() << "retention kept deleting for five attempts";
}

TEST_F(StreamTest, KeepaliveAndCheckpointOnAQuietFilteredFeed) {
  StartServer({"--sse-keepalive-secs", "1"});
  auto s = Open("/v1/stream?types=nothing.matches&checkpoint_secs=1");
  ASSERT_EQ(s->status(), 200);
  PutMany("k", 5);
  ASSERT_TRUE(s->ReadUntil(HasEvent("checkpoint"), 5s)) << s->data();
  ASSERT_TRUE(s->ReadUntil(Contains(":keepalive\n\n"), 5s));
  for (const Frame& f : ParseSse(s->data())) {
    EXPECT_FALSE(f.id.has_value());
    if (f.event == "checkpoint") {
      EXPECT_EQ(f.record(), (json{{"offset", 5}}));
    }
  }
}

TEST_F(StreamTest, BadRequestsAndAuth) {
  StartServer();
  PutMany("k", 3);
  EXPECT_EQ(client_->Get("/v1/stream?since=abc").status, 400);
  EXPECT_EQ(client_->Get("/v1/stream?since=-1").status, 400);
  auto past = client_->Get("/v1/stream?since=4");
  EXPECT_EQ(past.status, 400);
  EXPECT_NE(past.body.find("newest offset 3"), std::string::npos) << past.body;
  EXPECT_EQ(client_->Get("/v1/stream", {{"Last-Event-ID", "x1"}}).status, 400);
  EXPECT_EQ(client_->Get("/v1/stream?checkpoint_secs=99999").status, 400);
  EXPECT_EQ(client_->Get("/v1/stream?key_prefix=" + std::string(600, 'p')).status, 400);
  auto anon = server_->Client(/*with_token=*/false);
  EXPECT_EQ(anon->Get("/v1/stream").status, 401);
  EXPECT_EQ(anon->Get("/v1/events").status, 401);
  // POST /v1/events still appends next to the GET alias.
  auto appended = client_->Post("/v1/events", {{"type", "app.x"}});
  EXPECT_EQ(appended.status, 200) << appended.body;
  auto s = Open("/v1/stream?since=3");
  ASSERT_TRUE(s->ReadUntil(HasId(4)));
  EXPECT_EQ(ParseSse(s->data())[0].event, "app.x");
}

TEST_F(StreamTest, ServerShutdownEndsStreamsPromptly) {
  StartServer();
  PutMany("k", 10);
  auto a = Open("/v1/stream?since=0");
  auto b = Open("/v1/stream?since=now");
  ASSERT_TRUE(a->ReadUntil(HasId(10)));
  const auto t0 = Clock::now();
  EXPECT_EQ(server_->Stop(), 0) << server_->output();
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_TRUE(a->ReadToEnd(2s));
  EXPECT_TRUE(b->ReadToEnd(2s));
}

}  // namespace
}  // namespace kissvdb::testing
