// Hostile input against the real binary on 127.0.0.1: every row of
// docs/hostile-input.md names one of these tests. Each sends what a broken
// or malicious client sends (raw bytes where a proper client could not) and
// checks the exact answer: status, the JSON error code, and whether and
// when the connection is closed. Then it checks that nothing was damaged.
#include <signal.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "raw_conn.h"
#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr int kRequestTimeoutSecs = 2;
constexpr int kIdleTimeoutSecs = 3;

// `n` opening brackets, then `n` closing ones.
std::string Nested(size_t n, char open = '[', char close = ']') {
  return std::string(n, open) + std::string(n, close);
}

// {"a":{"a":...1...}} nested n deep.
std::string NestedObjects(size_t n) {
  std::string out;
  out.reserve(n * 6 + 1);
  for (size_t i = 0; i < n; ++i) out += "{\"a\":";
  out += "1";
  out += std::string(n, '}');
  return out;
}

TestServerOptions WithArgs(std::vector<std::string> args) {
  TestServerOptions o;
  o.args = std::move(args);
  return o;
}

void ExpectError(const HttpResponse& r, int status, const std::string& code, const std::string& what) {
  EXPECT_EQ(r.status, status) << what << ": " << r.error << r.body.substr(0, 300);
  EXPECT_EQ(r.header("content-type"), "application/json") << what;
  EXPECT_EQ(r.json.value("error", ""), code) << what << ": " << r.body.substr(0, 300);
  EXPECT_TRUE(r.json.contains("message") && r.json["message"].is_string()) << what;
}

// upsert_batch answers per item: the first item is stored, the second
// refused with `code`. A body that does not have the batch's shape (a
// syntax error, a non-number component) is refused whole: 400 `code`.
void ExpectItemRefused(const HttpResponse& r, const std::string& code) {
  if (r.status == 400) {
    EXPECT_EQ(r.json.value("error", ""), code) << r.body;
    return;
  }
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["results"].size(), 2u) << r.body;
  EXPECT_EQ(r.json["results"][0]["status"], "upserted") << r.body;
  EXPECT_EQ(r.json["results"][1]["status"], "error") << r.body;
  EXPECT_EQ(r.json["results"][1]["error"]["error"], code) << r.body;
}

class HostileInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    client_ = server_.Client();
  }

  HttpResponse Send(const std::string& method, const std::string& target, std::string body) {
    return client_->Request(method, target, std::move(body));
  }

  // The server still answers, on a fresh connection.
  void ExpectHealthy() {
    auto fresh = server_.Client();
    EXPECT_EQ(fresh->Get("/v1/health").status, 200) << server_.output();
    EXPECT_EQ(fresh->Put("/v1/state/canary", {{"value", "alive"}}).status, 200);
    EXPECT_EQ(fresh->Get("/v1/state/canary").json["value"], "alive");
  }

  // One raw exchange: `bytes` on a new connection, everything until the
  // server closes (or `timeout`).
  RawConn::Result RawExchange(std::string_view bytes, milliseconds timeout = seconds(5)) {
    RawConn c(server_.port());
    EXPECT_TRUE(c.ok());
    EXPECT_TRUE(c.Send(bytes));
    return c.ReadUntilClosed(timeout);
  }

  TestServer server_{WithArgs({"--durability", "none", "--request-timeout-secs",
                               std::to_string(kRequestTimeoutSecs), "--idle-timeout-secs",
                               std::to_string(kIdleTimeoutSecs)})};
  std::unique_ptr<HttpClient> client_;
};

const std::string kAuth = "Authorization: Bearer test-key\r\n";

// ---- HTTP framing ----

TEST_F(HostileInputTest, OversizedHeadersAre431AndClose) {
  // One 20 KiB header line, and a 20 KiB target: both over the 16 KiB limit.
  for (const std::string& wire :
       {"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 << 10, 'h') + "\r\n\r\n",
        "GET /v1/health?" + std::string(20 << 10, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n"}) {
    RawConn::Result r = RawExchange(wire);
    EXPECT_EQ(RawConn::StatusOf(r.data), 431) << r.data.substr(0, 200);
    EXPECT_NE(RawConn::BodyOf(r.data).find("\"payload_too_large\""), std::string::npos);
    EXPECT_TRUE(r.closed);
  }
  // Thousands of small headers add up the same way.
  std::string many = "GET /v1/health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 4000; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(RawConn::StatusOf(RawExchange(many + "\r\n").data), 431);
  ExpectHealthy();
}

TEST_F(HostileInputTest, OversizedBodyIs413BeforeItIsSent) {
  // Content-Length of 1 GiB, body never sent: refused from the header alone.
  RawConn c(server_.port());
  const auto t0 = Clock::now();
  ASSERT_TRUE(c.Send("PUT /v1/state/big HTTP/1.1\r\nHost: x\r\n" + kAuth +
                     "Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n"));
  RawConn::Result r = c.ReadResponse(seconds(5));
  EXPECT_EQ(RawConn::StatusOf(r.data), 413) << r.data;
  EXPECT_NE(RawConn::BodyOf(r.data).find("\"payload_too_large\""), std::string::npos);
  EXPECT_LT(Clock::now() - t0, seconds(kRequestTimeoutSecs)) << "answered without waiting for the body";
  EXPECT_NE(r.data.find("Connection: close"), std::string::npos);

  // Chunked, so no length up front: refused once the chunks pass 1 MiB.
  RawConn chunked(server_.port());
  ASSERT_TRUE(chunked.Send("PUT /v1/state/big HTTP/1.1\r\nHost: x\r\n" + kAuth +
                           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";  // 64 KiB
  for (int i = 0; i < 20 && chunked.Send(chunk); ++i) {
  }
  r = chunked.ReadResponse(seconds(5));
  EXPECT_EQ(RawConn::StatusOf(r.data), 413) << r.data.substr(0, 300);
  EXPECT_EQ(client_->Get("/v1/state/big").status, 404);
  ExpectHealthy();
}

TEST_F(HostileInputTest, SlowlorisIsCutOffByTheRequestTimeout) {
  // Headers trickled one byte every 200 ms and never finished: the request
  // timeout runs from the first byte, so trickling does not extend it.
  RawConn c(server_.port());
  const std::string head = "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  const auto t0 = Clock::now();
  RawConn::Result r;
  for (size_t i = 0; Clock::now() - t0 < seconds(kRequestTimeoutSecs + 4); ++i) {
    if (!c.Send(i < head.size() ? head.substr(i, 1) : "a")) break;
    RawConn::Result part = c.ReadUntilClosed(milliseconds(200));
    r.data += part.data;
    if (part.closed) {
      r.closed = true;
      break;
    }
  }
  const auto elapsed = Clock::now() - t0;
  EXPECT_TRUE(r.closed) << "the connection is still open after " << kRequestTimeoutSecs + 4 << " s";
  EXPECT_EQ(RawConn::StatusOf(r.data), 408) << r.data;
  EXPECT_NE(RawConn::BodyOf(r.data).find("\"request_timeout\""), std::string::npos);
  EXPECT_GE(elapsed, seconds(kRequestTimeoutSecs) - milliseconds(100));
  EXPECT_LT(elapsed, seconds(kRequestTimeoutSecs + 2));

  // The same for a body trickled after complete headers.
  RawConn body(server_.port());
  ASSERT_TRUE(body.Send("PUT /v1/state/slow HTTP/1.1\r\nHost: x\r\n" + kAuth +
                        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"));
  r = body.ReadUntilClosed(seconds(kRequestTimeoutSecs + 3));
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(RawConn::StatusOf(r.data), 408) << r.data;
  ExpectHealthy();
}

TEST_F(HostileInputTest, IdleConnectionIsClosedSilently) {
  RawConn c(server_.port());
  const auto t0 = Clock::now();
  RawConn::Result r = c.ReadUntilClosed(seconds(kIdleTimeoutSecs + 3));
  EXPECT_TRUE(r.closed) << "an idle connection outlived the idle timeout";
  EXPECT_TRUE(r.data.empty()) << r.data;
  EXPECT_GE(Clock::now() - t0, seconds(kIdleTimeoutSecs) - milliseconds(100));
  // Idle after a request (keep-alive) is the same.
  RawConn kept(server_.port());
  ASSERT_TRUE(kept.Send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = kept.ReadUntilClosed(seconds(kIdleTimeoutSecs + 3));
  EXPECT_EQ(RawConn::StatusOf(r.data), 200);
  EXPECT_TRUE(r.closed);
}

TEST_F(HostileInputTest, RequestSmugglingFramingIsRefused) {
  struct Case {
    const char* name;
    std::string framing;  // headers that set the body length
    std::string body;
    int status;
  };
  // Each is followed by a smuggled request that must never be answered.
  const std::vector<Case> cases = {
      {"Content-Length and Transfer-Encoding", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
       "0\r\n\r\n", 400},
      {"Transfer-Encoding then Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
       "0\r\n\r\n", 400},
      {"two different Content-Lengths", "Content-Length: 5\r\nContent-Length: 6\r\n", "{}   ", 400},
      {"Content-Length list that disagrees", "Content-Length: 5, 6\r\n", "{}   ", 400},
      {"negative Content-Length", "Content-Length: -5\r\n", "", 400},
      {"Content-Length with a sign", "Content-Length: +5\r\n", "{}   ", 400},
      {"Content-Length in hex", "Content-Length: 0x5\r\n", "{}   ", 400},
      {"chunked not last", "Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n", 400},
      {"two Transfer-Encoding fields", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
       "0\r\n\r\n", 400},
      {"unknown coding before chunked", "Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n", 501},
      {"coding without chunked", "Transfer-Encoding: gzip\r\n", "", 400},
      {"bad chunk size", "Transfer-Encoding: chunked\r\n", "zz\r\n{}\r\n0\r\n\r\n", 400},
  };
  const std::string smuggled = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    RawConn::Result r = RawExchange("PUT /v1/state/smuggle HTTP/1.1\r\nHost: x\r\n" + kAuth +
                                    "Content-Type: application/json\r\n" + k.framing + "\r\n" + k.body + smuggled);
    EXPECT_EQ(RawConn::StatusOf(r.data), k.status) << r.data.substr(0, 300);
    EXPECT_EQ(RawConn::Statuses(r.data).size(), 1u) << "the smuggled request was answered: " << r.data;
    EXPECT_TRUE(r.closed) << "the connection must close: the rest of its bytes have unknown framing";
    EXPECT_NE(RawConn::BodyOf(r.data).find("\"error\""), std::string::npos) << r.data;
  }
  EXPECT_EQ(client_->Get("/v1/state/smuggle").status, 404) << "no framing above was applied";
  // Duplicate identical lengths are one length (RFC 9112 6.3 allows either).
  RawConn::Result same = RawExchange("PUT /v1/state/same HTTP/1.1\r\nHost: x\r\n" + kAuth +
                                     "Content-Type: application/json\r\nContent-Length: 11\r\n"
                                     "Content-Length: 11\r\nConnection: close\r\n\r\n{\"value\":1}");
  EXPECT_EQ(RawConn::StatusOf(same.data), 200) << same.data;
  ExpectHealthy();
}

TEST_F(HostileInputTest, OldAndForeignProtocolVersions) {
  // HTTP/1.0: answered, then closed (no keep-alive unless asked for).
  RawConn::Result r = RawExchange("GET /v1/health HTTP/1.0\r\n\r\n");
  EXPECT_EQ(RawConn::StatusOf(r.data), 200) << r.data;
  EXPECT_TRUE(r.closed);
  RawConn ka(server_.port());
  ASSERT_TRUE(ka.Send("GET /v1/health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  r = ka.ReadResponse();
  EXPECT_EQ(RawConn::StatusOf(r.data), 200);
  EXPECT_FALSE(r.closed);
  ASSERT_TRUE(ka.Send("GET /v1/health HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(RawConn::StatusOf(ka.ReadUntilClosed(seconds(5)).data), 200);
  // HTTP/0.9, HTTP/2's preface, an unknown major version, TLS: 400 and close.
  for (const std::string& wire : {std::string("GET /v1/health\r\n\r\n"),
                                 std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
                                 std::string("GET /v1/health HTTP/9.9\r\nHost: x\r\n\r\n"),
                                 std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)}) {
    r = RawExchange(wire);
    EXPECT_EQ(RawConn::StatusOf(r.data), 400) << r.data;
    EXPECT_TRUE(r.closed);
  }
  ExpectHealthy();
}

TEST_F(HostileInputTest, MalformedHeaderBytesAre400) {
  for (const std::string& wire : {std::string("GET /v1/health HTTP/1.1\nHost: x\n\n"),  // bare LF
                                 std::string("GET /v1/health HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", 44),
                                 std::string("GET /v1/health HTTP/1.1\r\nNo-Colon\r\n\r\n"),
                                 std::string("GET /v1/health HTTP/1.1\r\nBad Name: v\r\n\r\n"),
                                 std::string("G\x01T /v1/health HTTP/1.1\r\n\r\n"),
                                 std::string("GET /v1/he\x7flth HTTP/1.1\r\n\r\n")}) {
    RawConn::Result r = RawExchange(wire);
    EXPECT_EQ(RawConn::StatusOf(r.data), 400) << ::testing::PrintToString(wire) << r.data;
    EXPECT_NE(RawConn::BodyOf(r.data).find("\"invalid_argument\""), std::string::npos);
    EXPECT_TRUE(r.closed);
  }
  ExpectHealthy();
}

TEST_F(HostileInputTest, PipelinedRequestsAndTrailingGarbage) {
  // 50 requests in one write: 50 answers, in order.
  std::string wire;
  for (int i = 0; i < 50; ++i) {
    wire += i % 2 ? "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
                  : "GET /v1/nope HTTP/1.1\r\nHost: x\r\n" + kAuth + "\r\n";
  }
  RawConn c(server_.port());
  ASSERT_TRUE(c.Send(wire));
  RawConn::Result r =
      c.ReadUntil([](const std::string& d) { return RawConn::Statuses(d).size() >= 50; }, seconds(10));
  const std::vector<int> statuses = RawConn::Statuses(r.data);
  ASSERT_EQ(statuses.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(statuses[i], i % 2 ? 200 : 404) << i;

  // A valid request, then garbage: the first is answered, the garbage gets
  // 400 and the connection closes.
  const std::string garbage("\0\x01\x02garbage\r\n\r\n", 14);
  r = RawExchange("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n" + garbage +
                  "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(RawConn::Statuses(r.data), (std::vector<int>{200, 400})) << r.data;
  EXPECT_TRUE(r.closed);
  ExpectHealthy();
}

// ---- JSON bodies ----

// Every route that parses a JSON body, with the body to wrap `value` in.
struct BodyRoute {
  std::string method;
  std::string target;
  std::string prefix;  // body = prefix + value + suffix
  std::string suffix;
};

std::vector<BodyRoute> BodyRoutes() {
  return {
      {"PUT", "/v1/state/deep", "{\"value\":", "}"},
      {"POST", "/v1/state/batch_put", "{\"operations\":[{\"key\":\"k\",\"value\":", "}]}"},
      {"PUT", "/v1/doc/c/deep", "{\"x\":", "}"},
      {"PATCH", "/v1/doc/c/deep", "{\"x\":", "}"},
      {"POST", "/v1/doc/c/find", "{\"filter\":{\"x\":", "}}"},
      {"POST", "/v1/events", "{\"type\":\"t\",\"data\":", "}"},
      {"POST", "/v1/vector/v/upsert", "{\"id\":\"a\",\"vector\":[1,0,0],\"meta\":", "}"},
      {"POST", "/v1/vector/v/upsert_batch", "{\"items\":[{\"id\":\"a\",\"vector\":[1,0,0],\"meta\":", "}]}"},
      {"POST", "/v1/vector/v/search", "{\"vector\":[1,0,0],\"k\":1,\"filter\":", "}"},
      {"POST", "/v1/sql/exec", "{\"sql\":\"SELECT ?\",\"params\":[", "]}"},
      {"POST", "/v1/sql/query", "{\"sql\":\"SELECT ?\",\"params\":[", "]}"},
      {"POST", "/v1/auth/keys", "{\"role\":\"read_only\",\"name\":", "}"},
      {"POST", "/v1/admin/snapshot", "{\"name\":", "}"},
  };
}

TEST_F(HostileInputTest, DeepJsonNestingIs400OnEveryBodyRoute) {
  ASSERT_EQ(client_->Post("/v1/vector/v", {{"dim", 3}}).status, 200);
  const std::vector<std::pair<std::string, std::string>> values = {
      {"100k '['", Nested(100000)},
      {"100k '{\"a\":'", NestedObjects(100000)},
      {"100k '[' never closed", std::string(100000, '[')},
      {"257 levels", Nested(257)},
  };
  for (const BodyRoute& route : BodyRoutes()) {
    for (const auto& [name, value] : values) {
      SCOPED_TRACE(route.method + " " + route.target + " with " + name);
      HttpResponse r = Send(route.method, route.target, route.prefix + value + route.suffix);
      ExpectError(r, 400, "invalid_argument", "deep JSON");
    }
  }
  // A whole body that is only brackets, too.
  ExpectError(Send("PUT", "/v1/state/deep", Nested(500000)), 400, "invalid_argument", "bare nesting");
  ExpectHealthy();
}

TEST_F(HostileInputTest, NestingUpToTheLimitIsStoredAndReplayed) {
  // 256 levels in all (the body object is one): the deepest accepted value.
  const std::string deepest = Nested(255);
  ASSERT_EQ(Send("PUT", "/v1/state/deep", "{\"value\":" + deepest + "}").status, 200);
  ASSERT_EQ(Send("PUT", "/v1/doc/c/deep", "{\"x\":" + Nested(254) + "}").status, 200);
  // Brackets inside strings are not nesting.
  ASSERT_EQ(Send("PUT", "/v1/state/text", "{\"value\":\"" + Nested(10000) + "\"}").status, 200);
  ASSERT_TRUE(server_.Restart()) << server_.output();  // replay dumps and re-parses them
  client_ = server_.Client();
  EXPECT_EQ(client_->Get("/v1/state/deep").json["value"], json::parse(deepest));
  EXPECT_EQ(client_->Get("/v1/doc/c/deep").json["doc"]["x"], json::parse(Nested(254)));
  EXPECT_EQ(client_->Get("/v1/state/text").json["value"], Nested(10000));
}

TEST_F(HostileInputTest, HugeArraysHitTheSizeLimits) {
  // ~600 KiB of zeros: under the body limit, over max_json_bytes (64 KiB) for one value.
  std::string zeros = "[0";
  for (int i = 1; i < 300000; ++i) zeros += ",0";
  zeros += "]";
  ExpectError(Send("PUT", "/v1/state/huge", "{\"value\":" + zeros + "}"), 413, "payload_too_large", "KV value");
  ExpectError(Send("PUT", "/v1/doc/c/huge", "{\"x\":" + zeros + "}"), 413, "payload_too_large", "document");
  // Batches are capped by count.
  json ops = json::array();
  for (int i = 0; i < 10000; ++i) ops.push_back({{"key", "k" + std::to_string(i)}, {"value", i}});
  ExpectError(client_->Post("/v1/state/batch_put", {{"operations", ops}}), 400, "invalid_argument", "batch");
  EXPECT_EQ(client_->Get("/v1/state/k0").status, 404) << "nothing of a refused batch is applied";
  // Vectors: dimension capped at create; a huge vector is a dimension mismatch.
  ExpectError(client_->Post("/v1/vector/wide", {{"dim", 100000}}), 400, "invalid_argument", "dim");
  ASSERT_EQ(client_->Post("/v1/vector/v", {{"dim", 3}}).status, 200);
  ExpectError(Send("POST", "/v1/vector/v/upsert", "{\"id\":\"a\",\"vector\":" + zeros + "}"), 400,
              "invalid_argument", "vector over max_vector_dim");
  ExpectError(client_->Post("/v1/vector/v/search", {{"vector", {1, 0, 0}}, {"k", 1000000000}}), 400,
              "invalid_argument", "k");
  ExpectError(Send("GET", "/v1/state?limit=99999999999999999999999", ""), 400, "invalid_argument", "limit");
  ExpectHealthy();
}

TEST_F(HostileInputTest, NonFiniteNumbersInVectorsAre400) {
  ASSERT_EQ(client_->Post("/v1/vector/v", {{"dim", 3}, {"metric", "l2"}}).status, 200);
  // JSON has no NaN or Infinity: they arrive as overflowing literals
  // (1e999 overflows a double, 1e39 a float), strings, or invalid tokens.
  const std::vector<std::string> bad = {"[1e999,0,0]", "[-1e999,0,0]", "[1e39,0,0]", "[0,-3.5e38,0]",
                                        "[\"NaN\",0,0]", "[\"Infinity\",0,0]", "[NaN,0,0]",
                                        "[Infinity,0,0]", "[null,0,0]", "[true,0,0]", "[[1],0,0]"};
  for (const std::string& v : bad) {
    SCOPED_TRACE(v);
    ExpectError(Send("POST", "/v1/vector/v/upsert", "{\"id\":\"a\",\"vector\":" + v + "}"), 400, "invalid_argument",
                "upsert");
    ExpectItemRefused(Send("POST", "/v1/vector/v/upsert_batch",
                           "{\"items\":[{\"id\":\"b\",\"vector\":[1,2,3]},{\"id\":\"a\",\"vector\":" + v + "}]}"),
                      "invalid_argument");
    ExpectError(Send("POST", "/v1/vector/v/search", "{\"k\":1,\"vector\":" + v + "}"), 400, "invalid_argument",
                "search");
  }
  EXPECT_EQ(client_->Get("/v1/vector/v/get?id=a").status, 404) << "no refused vector was stored";
  // The largest finite float is fine.
  EXPECT_EQ(Send("POST", "/v1/vector/v/upsert", "{\"id\":\"a\",\"vector\":[3.4e38,0,0]}").status, 200);
  ExpectHealthy();
}

TEST_F(HostileInputTest, WrongDimensionsAre400DimMismatch) {
  ASSERT_EQ(client_->Post("/v1/vector/v", {{"dim", 3}}).status, 200);
  EXPECT_EQ(client_->Post("/v1/vector/v/upsert", {{"id", "a"}, {"vector", json::array()}}).status, 400);
  for (const json& v : {json{1}, json{1, 2}, json{1, 2, 3, 4}}) {
    SCOPED_TRACE(v.dump());
    ExpectError(client_->Post("/v1/vector/v/upsert", {{"id", "a"}, {"vector", v}}), 400, "dim_mismatch", "upsert");
    ExpectError(client_->Post("/v1/vector/v/search", {{"vector", v}, {"k", 1}}), 400, "dim_mismatch", "search");
  }
  // In a batch, the bad item is refused and the others proceed.
  json items = {{{"id", "ok"}, {"vector", {1, 0, 0}}}, {{"id", "bad"}, {"vector", {1, 0}}}};
  ExpectItemRefused(client_->Post("/v1/vector/v/upsert_batch", {{"items", items}}), "dim_mismatch");
  EXPECT_EQ(client_->Get("/v1/vector/v/get?id=bad").status, 404);
  EXPECT_EQ(client_->Get("/v1/vector/v/get?id=ok").status, 200);
}

// ---- Names ----

TEST_F(HostileInputTest, InvalidUtf8InNamesIs400) {
  ASSERT_EQ(client_->Post("/v1/vector/v", {{"dim", 3}}).status, 200);
  // A lone continuation byte, an overlong '/', a UTF-16 surrogate, a truncated sequence, 0xFF.
  for (const std::string& bad : std::vector<std::string>{"%80", "%C0%AF", "%ED%A0%80", "a%E2%82", "%FF%FE"}) {
    SCOPED_TRACE(bad);
    ExpectError(client_->Put("/v1/state/" + bad, {{"value", 1}}), 400, "invalid_argument", "KV key");
    ExpectError(client_->Put("/v1/doc/" + bad + "/x", {{"a", 1}}), 400, "invalid_argument", "doc collection");
    ExpectError(client_->Put("/v1/doc/c/" + bad, {{"a", 1}}), 400, "invalid_argument", "doc id");
    ExpectError(client_->Post("/v1/vector/" + bad, {{"dim", 3}}), 400, "invalid_argument", "vector collection");
  }
  // In JSON bodies invalid UTF-8 is a syntax error; a lone surrogate escape too.
  for (const std::string& bad : {std::string("\xff"), std::string("\xc0\xaf"), std::string("\\ud800")}) {
    ExpectError(Send("POST", "/v1/vector/v/upsert", "{\"id\":\"" + bad + "\",\"vector\":[1,0,0]}"), 400,
                "invalid_argument", "vector id");
    ExpectError(Send("POST", "/v1/admin/snapshot", "{\"name\":\"" + bad + "\"}"), 400, "invalid_argument",
                "backup name");
    ExpectError(Send("PUT", "/v1/state/k", "{\"value\":\"" + bad + "\"}"), 400, "invalid_argument", "value");
  }
  EXPECT_EQ(client_->Get("/v1/state?limit=1000").json.size(), 0u) << "no key was stored";
  ExpectHealthy();
}

// The directory tree under `root`, relative paths.
std::set<std::string> Tree(const std::string& root) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    out.insert(std::filesystem::relative(it->path(), root).string());
  }
  return out;
}

TEST_F(HostileInputTest, PathTraversalInNamesStaysInside) {
  const std::vector<std::string> traversal = {"..", "%2E%2E", "..%2F..%2Fescaped", "%2F", "a%2F..%2F..%2Fescaped",
                                              "..%5C..%5Cescaped", "a%5Cb", "a%00b", "%2E"};
  // KV keys are opaque LMDB keys, never file names: any of these is a key.
  for (const std::string& name : traversal) {
    HttpResponse put = client_->Put("/v1/state/" + name, {{"value", name}});
    EXPECT_EQ(put.status, 200) << name << put.body;  // even "a\0b": a NUL is an ordinary key byte
    EXPECT_EQ(client_->Get("/v1/state/" + name).json["value"], name) << name;
  }
  // Document collections and ids: ".", "..", '/' and control bytes are refused.
  for (const std::string& name : std::vector<std::string>{"..", "%2E%2E", "%2E", "a%2Fb", "..%2F..%2Fescaped", "a%00b", "a%0Ab"}) {
    ExpectError(client_->Put("/v1/doc/" + name + "/x", {{"a", 1}}), 400, "invalid_argument", "doc collection " + name);
    ExpectError(client_->Put("/v1/doc/c/" + name, {{"a", 1}}), 400, "invalid_argument", "doc id " + name);
  }
  EXPECT_EQ(client_->Put("/v1/doc/a%5C..%5Cb/x", {{"a", 1}}).status, 200) << "a backslash is an ordinary byte";
  // Vector collections become directories: their names are encoded, so
  // traversal names are just names. Control bytes are refused.
  for (const std::string& name : std::vector<std::string>{"..", "%2E", "..%2F..%2Fescaped", "..%5C..%5Cescaped", "a%2Fb"}) {
    ASSERT_EQ(client_->Post("/v1/vector/" + name, {{"dim", 2}, {"metric", "l2"}}).status, 200) << name;
    ASSERT_EQ(client_->Post("/v1/vector/" + name + "/upsert", {{"id", "../x"}, {"vector", {1, 2}}}).status, 200);
  }
  ExpectError(client_->Post("/v1/vector/a%00b", {{"dim", 2}}), 400, "invalid_argument", "vector NUL");
  // Backup names: letters, digits and . _ - only, never a leading dot.
  for (const std::string& name : std::vector<std::string>{"..", "../escaped", "a/b", "a\\\\b", "a\\u0000b", ".hidden", "/tmp/x", "~"}) {
    ExpectError(Send("POST", "/v1/admin/snapshot", "{\"name\":\"" + name + "\"}"), 400, "invalid_argument",
                "backup " + name);
  }
  ASSERT_EQ(client_->Post("/v1/admin/snapshot", {{"name", "fine-1"}}).status, 200);

  // Restart so every vector file is written and everything is replayed.
  ASSERT_TRUE(server_.Restart()) << server_.output();
  client_ = server_.Client();
  for (const std::string& name : std::vector<std::string>{"..", "%2E", "..%2F..%2Fescaped", "..%5C..%5Cescaped", "a%2Fb"}) {
    HttpResponse got = client_->Get("/v1/vector/" + name + "/get?id=..%2Fx");
    EXPECT_EQ(got.status, 200) << name << got.body;
  }
  EXPECT_EQ(client_->Get("/v1/state/..%2F..%2Fescaped").json["value"], "..%2F..%2Fescaped");
  // Nothing escaped: the server's directory holds only what it always holds,
  // no path below data/ has a ".." component, and "escaped" appears only
  // inside encoded vector directory names (%2E%2E%2F%2E%2E%2Fescaped).
  std::set<std::string> top;
  for (const auto& e : std::filesystem::directory_iterator(server_.dir())) top.insert(e.path().filename().string());
  EXPECT_EQ(top, (std::set<std::string>{"data", "port", "server.log"}));
  for (const std::string& path : Tree(server_.data_dir())) {
    for (const auto& part : std::filesystem::path(path)) {
      EXPECT_NE(part.string(), "..") << path;
      EXPECT_NE(part.string(), "escaped") << path;
      EXPECT_EQ(part.string().find('\\'), std::string::npos) << path;
    }
  }
  EXPECT_TRUE(std::filesystem::is_directory(server_.data_dir() + "/backups/fine-1"));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(server_.dir()).parent_path() / "escaped"));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(server_.data_dir()) / "escaped"));
}

// ---- SQL ----

TEST_F(HostileInputTest, SqlInjectionThroughParametersIsInert) {
  ASSERT_EQ(client_->Post("/v1/sql/exec", {{"sql", "CREATE TABLE t(v TEXT)"}}).status, 200);
  const std::vector<std::string> payloads = {"x'); DROP TABLE t;--", "' OR '1'='1", "1; DELETE FROM t",
                                             "\"; ATTACH DATABASE '/tmp/pwn.db' AS p; --", "?", ":v", "$v"};
  for (const std::string& p : payloads) {
    ASSERT_EQ(client_->Post("/v1/sql/exec", {{"sql", "INSERT INTO t(v) VALUES (?)"}, {"params", {p}}}).status, 200)
        << p;
    ASSERT_EQ(client_->Post("/v1/sql/exec", {{"sql", "INSERT INTO t(v) VALUES (:v)"}, {"params", {{":v", p}}}}).status,
              200)
        << p;
  }
  // Every payload is stored verbatim, twice, and the table survived.
  HttpResponse rows = client_->Post("/v1/sql/query", {{"sql", "SELECT v FROM t ORDER BY rowid"}});
  ASSERT_EQ(rows.status, 200) << rows.body;
  ASSERT_EQ(rows.json["rows"].size(), payloads.size() * 2);
  for (size_t i = 0; i < payloads.size(); ++i) {
    EXPECT_EQ(rows.json["rows"][2 * i]["v"], payloads[i]);
    EXPECT_EQ(rows.json["rows"][2 * i + 1]["v"], payloads[i]);
  }
  // A payload as a parameter matches only itself.
  HttpResponse none = client_->Post("/v1/sql/query", {{"sql", "SELECT count(*) AS n FROM t WHERE v = ?"},
                                                      {"params", {"' OR '1'='1' --"}}});
  EXPECT_EQ(none.json["rows"][0]["n"], 0);
  // Stacked statements in the SQL text itself: one statement per call.
  ExpectError(client_->Post("/v1/sql/exec", {{"sql", "INSERT INTO t VALUES ('a'); DROP TABLE t"}}), 400,
              "invalid_argument", "stacked");
  ExpectError(client_->Post("/v1/sql/query", {{"sql", "SELECT 1; DROP TABLE t"}}), 400, "invalid_argument", "stacked");
  // Parameters must be scalars: no object or array is spliced into the text.
  EXPECT_EQ(client_->Post("/v1/sql/exec", {{"sql", "INSERT INTO t(v) VALUES (?)"}, {"params", {{{"a", 1}}}}}).status,
            400);
  EXPECT_EQ(client_->Post("/v1/sql/query", {{"sql", "SELECT count(*) AS n FROM t"}}).json["rows"][0]["n"],
            payloads.size() * 2);
  EXPECT_FALSE(std::filesystem::exists("/tmp/pwn.db"));
}

TEST_F(HostileInputTest, NonJsonContentTypeIs415) {
  HttpResponse r = client_->Request("PUT", "/v1/state/k", "value=1", {{"Content-Type", "application/x-www-form-urlencoded"}});
  ExpectError(r, 415, "unsupported_media_type", "form body");
  ExpectError(Send("PUT", "/v1/state/k", "{\"value\": 1"), 400, "invalid_argument", "truncated JSON");
  ExpectError(Send("PUT", "/v1/state/k", "{\"value\": 1}}"), 400, "invalid_argument", "trailing bytes");
  ExpectError(Send("PUT", "/v1/state/k", std::string("{\"value\": \"a\0b\"}", 16)), 400, "invalid_argument",
              "raw NUL in a string");
}

// ---- Connections ----

// Raises this process's open-file soft limit to at least `want`; false
// (with the reason) when the hard limit is lower.
bool RaiseOwnFileLimit(rlim_t want, std::string* why) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    *why = "getrlimit failed";
    return false;
  }
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
    *why = "RLIMIT_NOFILE hard limit is " + std::to_string(rl.rlim_max) + ", the test needs " + std::to_string(want) +
           " (run `ulimit -Hn " + std::to_string(want) + "` as root, or in a container with a higher nofile)";
    return false;
  }
  if (rl.rlim_cur < want) {
    rl.rlim_cur = want;
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      *why = "setrlimit failed";
      return false;
    }
  }
  return true;
}

// A metric's value from /v1/metrics, -1 if absent.
double Metric(HttpClient& c, const std::string& name) {
  HttpResponse r = c.Get("/v1/metrics");
  const std::string needle = "\n" + name + " ";
  const size_t at = r.body.find(needle);
  if (at == std::string::npos) return -1;
  return std::stod(r.body.substr(at + needle.size()));
}

// Opens up to `n` connections; stops early if connect fails.
std::vector<RawConn> OpenIdle(uint16_t port, size_t n) {
  std::vector<RawConn> conns;
  conns.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    RawConn c(port);
    if (!c.ok()) break;
    conns.push_back(std::move(c));
  }
  return conns;
}

// How many of `conns` the server has closed, waiting up to `timeout` for all.
size_t CountClosed(std::vector<RawConn>& conns, milliseconds timeout) {
  std::vector<pollfd> fds;
  for (auto& c : conns) fds.push_back({c.fd(), POLLIN, 0});
  std::vector<bool> closed(conns.size(), false);
  size_t n = 0;
  const auto deadline = Clock::now() + timeout;
  while (n < conns.size() && Clock::now() < deadline) {
    for (auto& p : fds) p.revents = 0;
    if (::poll(fds.data(), fds.size(), 200) <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (closed[i] || fds[i].revents == 0) continue;
      char b;
      if (::recv(fds[i].fd, &b, 1, MSG_DONTWAIT) <= 0) {
        closed[i] = true;
        fds[i].fd = -1;  // poll ignores negative fds
        ++n;
      }
    }
  }
  return n;
}

long RssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST(HostileConnectionsTest, ConnectionsBeyondTheLimitAreClosedAtOnce) {
  constexpr size_t kLimit = 50;
  TestServer server(WithArgs({"--durability", "none", "--max-connections", std::to_string(kLimit),
                              "--idle-timeout-secs", "3"}));
  ASSERT_TRUE(server.Start()) << server.output();
  auto client = server.Client();  // one of the kLimit, kept alive
  ASSERT_EQ(client->Get("/v1/health").status, 200);
  std::vector<RawConn> idle = OpenIdle(server.port(), kLimit - 1);
  ASSERT_EQ(idle.size(), kLimit - 1);
  // One more: accepted and closed at once, nothing written. (Accepts are
  // in connect order, so the kLimit before it are sessions by then.)
  RawConn extra(server.port());
  ASSERT_TRUE(extra.ok());
  const auto t0 = Clock::now();
  RawConn::Result r = extra.ReadUntilClosed(seconds(2));
  EXPECT_TRUE(r.closed) << "a connection beyond max_connections was kept";
  EXPECT_TRUE(r.data.empty()) << r.data;
  EXPECT_LT(Clock::now() - t0, seconds(1));
  // The connections within the limit still work.
  EXPECT_EQ(client->Put("/v1/state/a", {{"value", 1}}).status, 200);
  EXPECT_GE(Metric(*client, "http_connections_refused_total"), 1);
  // Once the idle ones time out, new connections are accepted again.
  EXPECT_EQ(CountClosed(idle, seconds(8)), idle.size());
  auto fresh = server.Client();
  EXPECT_EQ(fresh->Get("/v1/state/a").json["value"], 1);
}

TEST(HostileConnectionsTest, TenThousandIdleConnections) {
  constexpr size_t kIdle = 10000;
  constexpr size_t kLimit = 10000;
  constexpr int kIdleSecs = 8;
  std::string why;
  if (!RaiseOwnFileLimit(kIdle + 512, &why)) {
    GTEST_SKIP() << "SKIPPED: cannot open " << kIdle << " sockets: " << why;
  }
  TestServer server(WithArgs({"--durability", "none", "--max-connections", std::to_string(kLimit),
                              "--idle-timeout-secs", std::to_string(kIdleSecs)}));
  ASSERT_TRUE(server.Start()) << server.output();
  const long rss_before = RssKiB(server.pid());

  // Fill the server up to 10 below its limit.
  const auto t0 = Clock::now();
  std::vector<RawConn> idle = OpenIdle(server.port(), kLimit - 10);
  ASSERT_EQ(idle.size(), kLimit - 10) << "connect failed after " << idle.size();
  const auto opened_in = Clock::now() - t0;
  ASSERT_LT(opened_in, seconds(kIdleSecs - 2)) << "opening took too long for the idle timeout to be tested";

  // Within the limit: a fresh connection is served at once.
  {
    auto fresh = server.Client();
    fresh->set_timeout(seconds(5));
    const auto t1 = Clock::now();
    EXPECT_EQ(fresh->Get("/v1/health").status, 200) << server.output().substr(0, 2000);
    EXPECT_EQ(fresh->Put("/v1/state/busy", {{"value", "yes"}}).status, 200);
    EXPECT_EQ(fresh->Get("/v1/state/busy").json["value"], "yes");
    EXPECT_LT(Clock::now() - t1, seconds(2));
    EXPECT_GE(Metric(*fresh, "http_connections_open"), static_cast<double>(kLimit - 10));
  }
  const long rss_peak = RssKiB(server.pid());
  std::cout << "[ INFO     ] " << idle.size() << " idle connections opened in "
            << std::chrono::duration_cast<milliseconds>(opened_in).count() << " ms; server RSS " << rss_before
            << " KiB -> " << rss_peak << " KiB (" << (rss_peak - rss_before) * 1024 / static_cast<long>(idle.size())
            << " bytes per idle connection)\n";
  ::testing::Test::RecordProperty("rss_per_idle_connection_bytes",
                                  static_cast<int>((rss_peak - rss_before) * 1024 / static_cast<long>(idle.size())));

  // Beyond the limit: refused cleanly (closed, nothing written).
  std::vector<RawConn> over = OpenIdle(server.port(), 30);
  ASSERT_EQ(over.size(), 30u);
  size_t refused = 0;
  for (auto& c : over) {
    RawConn::Result r = c.ReadUntilClosed(milliseconds(300));
    if (r.closed) {
      ++refused;
      EXPECT_TRUE(r.data.empty());
    }
  }
  EXPECT_GE(refused, 10u) << "connections beyond max_connections must be closed";

  // The idle timeout closes every one of them (bounded: timeout + 15 s).
  const size_t closed = CountClosed(idle, seconds(kIdleSecs + 15));
  EXPECT_EQ(closed, idle.size()) << "idle connections still open after the idle timeout";
  idle.clear();
  over.clear();

  auto after = server.Client();
  EXPECT_EQ(after->Get("/v1/state/busy").json["value"], "yes");
  EXPECT_GE(Metric(*after, "http_connections_refused_total"), static_cast<double>(refused));
  EXPECT_LE(Metric(*after, "http_connections_open"), 5);
}

}  // namespace
}  // namespace kissvdb::testing
