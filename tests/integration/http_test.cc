// The HTTP front end of the real binary: auth, errors, limits, keep-alive,
// start-up policy and shutdown, over 127.0.0.1.
#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "raw_conn.h"
#include "test_client.h"

namespace kissvdb::testing {
namespace {

// Every route that needs a key. Add each /v1 route here as it lands, so
// that the auth checks below cover it. {method, target}
const std::vector<std::pair<std::string, std::string>>& AuthRoutes() {
  static const std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/v1/metrics"},
  };
  return routes;
}

class HttpIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()) << server_.output(); }
  TestServer server_;
};

TEST_F(HttpIntegrationTest, HealthWithoutAuth) {
  auto c = server_.Client(false);
  HttpResponse r = c->Get("/v1/health");
  ASSERT_EQ(r.status, 200) << r.error << server_.output();
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.json["status"], "ok");
  EXPECT_TRUE(r.json["version"].is_string());
  EXPECT_GE(r.json["uptime_secs"].get<int64_t>(), 0);
}

TEST_F(HttpIntegrationTest, EachTokenSourceIsAccepted) {
  auto c = server_.Client(false);
  for (const auto& [method, target] : AuthRoutes()) {
    SCOPED_TRACE(method + " " + target);
    const std::string sep = target.find('?') == std::string::npos ? "?" : "&";
    EXPECT_NE(c->Request(method, target, "", {{"Authorization", "Bearer test-key"}}).status, 401);
    EXPECT_NE(c->Request(method, target, "", {{"X-API-Key", "test-key"}}).status, 401);
    EXPECT_NE(c->Request(method, target + sep + "api_key=test-key", "").status, 401);
    EXPECT_NE(c->Request(method, target + sep + "api_key=test%2Dkey", "").status, 401);
  }
}

TEST_F(HttpIntegrationTest, BadTokensAreRefused) {
  struct Case {
    const char* name;
    Headers headers;
    std::string query;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"missing", {}, "", "missing authorization header"},
      {"wrong bearer", {{"Authorization", "Bearer nope"}}, "", "invalid api key"},
      // The scheme is case-insensitive (RFC 9110 11.1); the token is not.
      {"lower-case bearer, wrong key", {{"Authorization", "bearer nope"}}, "", "invalid api key"},
      {"no Bearer prefix", {{"Authorization", "test-key"}}, "", "invalid authorization header format"},
      {"basic", {{"Authorization", "Basic dGVzdC1rZXk="}}, "", "invalid authorization header format"},
      {"empty bearer", {{"Authorization", "Bearer"}}, "", "invalid authorization header format"},
      {"bad format beats good X-API-Key", {{"Authorization", "test-key"}, {"X-API-Key", "test-key"}}, "",
       "invalid authorization header format"},
      {"wrong X-API-Key", {{"X-API-Key", "nope"}}, "", "invalid api key"},
      {"empty X-API-Key", {{"X-API-Key", ""}}, "", "invalid api key"},
      {"wrong query key", {}, "api_key=nope", "invalid api key"},
      {"empty query key", {}, "api_key=", "invalid api key"},
      {"key prefix", {{"X-API-Key", "test-ke"}}, "", "invalid api key"},
      {"key with suffix", {{"X-API-Key", "test-key2"}}, "", "invalid api key"},
  };
  auto c = server_.Client(false);
  for (const auto& [method, target] : AuthRoutes()) {
    for (const Case& k : cases) {
      SCOPED_TRACE(method + " " + target + ": " + k.name);
      std::string t = target;
      if (!k.query.empty()) t += (t.find('?') == std::string::npos ? "?" : "&") + k.query;
      HttpResponse r = c->Request(method, t, "", k.headers);
      EXPECT_EQ(r.status, 401) << r.body;
      EXPECT_EQ(r.header("content-type"), "application/json");
      EXPECT_EQ(r.json["error"], "unauthorized");
      EXPECT_EQ(r.json["message"], k.message);
    }
  }
  // The token never reaches the log.
  EXPECT_EQ(server_.output().find("test-key"), std::string::npos);
}

TEST_F(HttpIntegrationTest, UnknownRouteIs401ThenJson404) {
  EXPECT_EQ(server_.Client(false)->Get("/v1/nope").status, 401);
  EXPECT_EQ(server_.Client(false)->Get("/nope").status, 401);  // "/" is the public dashboard
  HttpResponse r = server_.Client()->Get("/v1/nope?x=1");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.json["error"], "not_found");
  EXPECT_TRUE(r.json["message"].is_string());
}

TEST_F(HttpIntegrationTest, WrongMethodIs405WithAllow) {
  HttpResponse r = server_.Client()->Request("DELETE", "/v1/health", "");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.json["error"], "method_not_allowed");
  EXPECT_EQ(r.header("allow"), "GET");
}

TEST_F(HttpIntegrationTest, MetricsArePrometheusText) {
  HttpResponse r = server_.Client()->Get("/v1/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4");
  for (const char* name : {"state_put_total", "state_delete_total", "vector_ops_total", "events_total",
                           "sse_clients", "http_connections_open"}) {
    EXPECT_NE(r.body.find(std::string("\n") + name + " "), std::string::npos) << name << "\n" << r.body;
  }
}

// The original's write counters move with committed events (they stayed at
// zero until session 3).
TEST_F(HttpIntegrationTest, WriteCountersCountCommittedEvents) {
  auto c = server_.Client();
  ASSERT_EQ(c->Request("PUT", "/v1/state/a", R"({"value":1})").status, 200);
  ASSERT_EQ(c->Request("PUT", "/v1/state/b", R"({"value":2})").status, 200);
  ASSERT_EQ(c->Request("PUT", "/v1/state/a", R"({"value":3,"if_revision":7})").status, 409);  // not committed
  ASSERT_EQ(c->Request("DELETE", "/v1/state/b", "").status, 200);
  ASSERT_EQ(c->Request("POST", "/v1/vector/m", R"({"dim":2,"metric":"cosine"})").status, 200);
  HttpResponse up = c->Request("POST", "/v1/vector/m/upsert_batch",
                               R"({"items":[{"id":"p","vector":[1,0]},{"id":"q","vector":[0,1]}]})");
  ASSERT_EQ(up.status, 200) << up.body;
  ASSERT_EQ(c->Request("POST", "/v1/events", R"({"type":"note","data":{}})").status, 200);

  HttpResponse r = c->Get("/v1/metrics");
  ASSERT_EQ(r.status, 200);
  auto value = [&](const std::string& name) -> std::string {
    size_t at = r.body.find("\n" + name + " ");
    if (at == std::string::npos) return "missing";
    at += name.size() + 2;
    return r.body.substr(at, r.body.find('\n', at) - at);
  };
  EXPECT_EQ(value("state_put_total"), "2") << r.body;
  EXPECT_EQ(value("state_delete_total"), "1");
  EXPECT_EQ(value("vector_ops_total"), "2");
  EXPECT_EQ(value("events_total"), "7");  // 2 puts, 1 delete, create, 2 points, 1 user event
}

// HEAD is GET without the body (RFC 9110 9.3.2): the same status and
// headers, Content-Length of the GET body, and not one body byte, so the
// next response on the connection starts right after the head.
TEST_F(HttpIntegrationTest, HeadIsGetWithoutTheBody) {
  auto c = server_.Client();
  ASSERT_EQ(c->Request("PUT", "/v1/state/h", R"({"value":"hello"})").status, 200);
  const std::string get_body = c->Get("/v1/state/h").body;
  const std::string auth = "Authorization: Bearer " + server_.api_key() + "\r\n";

  struct Case {
    std::string target, headers;
    int status;
    std::string length;  // expected Content-Length
  };
  const std::vector<Case> cases = {
      {"/v1/health", "", 200, ""},
      {"/v1/state/h", auth, 200, std::to_string(get_body.size())},
      {"/v1/state/h", "", 401, ""},
      {"/v1/state/missing", auth, 404, ""},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.target + (k.headers.empty() ? " without a key" : ""));
    RawConn raw(server_.port());
    ASSERT_TRUE(raw.Send("HEAD " + k.target + " HTTP/1.1\r\nHost: t\r\n" + k.headers + "\r\n" +
                         "GET /v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    const std::string data = raw.ReadUntilClosed(std::chrono::seconds(5)).data;
    EXPECT_EQ(RawConn::StatusOf(data), k.status) << data;
    const size_t head_end = data.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << data;
    const std::string head = data.substr(0, head_end);
    const std::string rest = data.substr(head_end + 4);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(head, m, std::regex("Content-Length: (\\d+)", std::regex::icase))) << head;
    EXPECT_GT(std::stoul(m[1]), 0u);
    if (!k.length.empty()) {
      EXPECT_EQ(m[1].str(), k.length);
    }
    EXPECT_EQ(rest.substr(0, 15), "HTTP/1.1 200 OK") << "a body followed the HEAD response: " << rest.substr(0, 80);
  }

  // A streamed route: the head of the stream, then the connection closes
  // without one byte of body.
  RawConn raw(server_.port());
  ASSERT_TRUE(raw.Send("HEAD /v1/stream HTTP/1.1\r\nHost: t\r\n" + auth + "\r\n"));
  RawConn::Result r = raw.ReadUntilClosed(std::chrono::seconds(5));
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(RawConn::StatusOf(r.data), 200) << r.data;
  EXPECT_NE(r.data.find("text/event-stream"), std::string::npos) << r.data;
  const size_t end = r.data.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(r.data.size(), end + 4) << "body bytes after the head: " << r.data.substr(end + 4, 80);
}

TEST_F(HttpIntegrationTest, OversizedBodyIs413Json) {
  auto c = server_.Client();
  HttpResponse r = c->Request("POST", "/v1/metrics", std::string((1 << 20) + 1, 'x'));
  EXPECT_EQ(r.status, 413) << r.error;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.json["error"], "payload_too_large");
  // A fresh connection works.
  EXPECT_EQ(c->Get("/v1/health").status, 200);
}

TEST_F(HttpIntegrationTest, OversizedHeadersAre431) {
  Headers big;  // 32 KiB of headers; the default limit is 16 KiB
  for (int i = 0; i < 8; ++i) big.emplace_back("X-Big-" + std::to_string(i), std::string(4 << 10, 'h'));
  HttpResponse r = server_.Client()->Get("/v1/health", big);
  EXPECT_EQ(r.status, 431) << r.error;
  EXPECT_EQ(r.json["error"], "payload_too_large");
}

TEST_F(HttpIntegrationTest, MalformedRequestIs400Json) {
  HttpResponse r = server_.Client()->SendRaw("GET /v1/health HTTP/1.1\r\nNo-Colon-Here\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json["error"], "invalid_argument");
  r = server_.Client()->Get("/v1/%zz");
  EXPECT_EQ(r.status, 400);
}

TEST_F(HttpIntegrationTest, KeepAliveReusesTheConnection) {
  auto c = server_.Client();
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(c->Get(i % 2 ? "/v1/health" : "/v1/metrics").status, 200);
  }
  EXPECT_EQ(c->connects(), 1);
  // Errors do not close it either.
  EXPECT_EQ(c->Get("/v1/nope").status, 404);
  EXPECT_EQ(c->Get("/v1/health").status, 200);
  EXPECT_EQ(c->connects(), 1);
}

TEST_F(HttpIntegrationTest, PipelinedRequests) {
  auto c = server_.Client();
  const std::string health = "GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n";
  const std::string nope = "GET /v1/nope HTTP/1.1\r\nHost: t\r\nX-API-Key: test-key\r\n\r\n";
  ASSERT_TRUE(c->Write(health + nope + health));
  EXPECT_EQ(c->ReadResponse().status, 200);
  EXPECT_EQ(c->ReadResponse().status, 404);
  EXPECT_EQ(c->ReadResponse().status, 200);
}

// Answers that take long to compute (exact vector searches, ~100 us and
// more) are written after the requests queued meanwhile (Session::
// WriteResponse); pipelined on one connection, slow and fast answers still
// come back whole and in request order.
TEST_F(HttpIntegrationTest, PipelinedSlowAndFastAnswersKeepTheirOrder) {
  auto c = server_.Client();
  constexpr int kDim = 256;
  ASSERT_EQ(c->Post("/v1/vector/slow", {{"dim", kDim}, {"metric", "l2"}}).status, 200);
  for (int batch = 0; batch < 8; ++batch) {  // 2,000 points, 250 per request
    nlohmann::json items = nlohmann::json::array();
    for (int i = batch * 250; i < (batch + 1) * 250; ++i) {
      std::vector<float> v(kDim);
      for (int d = 0; d < kDim; ++d) v[d] = static_cast<float>(i * 31 % 97 + d % 7);
      items.push_back({{"id", "p" + std::to_string(i)}, {"vector", v}});
    }
    ASSERT_EQ(c->Post("/v1/vector/slow/upsert_batch", {{"items", items}}).status, 200);
  }
  auto request = [](const std::string& method, const std::string& target, const std::string& body) {
    return method + " " + target + " HTTP/1.1\r\nHost: t\r\nX-API-Key: test-key\r\n" +
           "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  auto search = [&](float x) {
    return request("POST", "/v1/vector/slow/search",
                   nlohmann::json{{"vector", std::vector<float>(kDim, x)}, {"k", 7}, {"exact", true}}.dump());
  };
  ASSERT_TRUE(c->Write(search(1) + request("GET", "/v1/health", "") + search(50) +
                       request("GET", "/v1/state/missing", "") + search(2)));
  HttpResponse r = c->ReadResponse();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["hits"].size(), 7u) << r.body;
  const std::string first = r.json["hits"][0]["id"];
  r = c->ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json["status"], "ok") << r.body;
  r = c->ReadResponse();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["hits"].size(), 7u) << r.body;
  EXPECT_NE(r.json["hits"][0]["id"], first) << "the answer to the third request, not the first again";
  EXPECT_EQ(c->ReadResponse().status, 404);
  r = c->ReadResponse();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["hits"][0]["id"], first) << "x=2 is nearest to the same point as x=1";
  EXPECT_EQ(c->Get("/v1/health").status, 200) << "the connection is still usable";
  EXPECT_EQ(c->connects(), 1);
}

TEST_F(HttpIntegrationTest, CorsPreflightWithoutAuth) {
  HttpResponse r = server_.Client(false)->Request(
      "OPTIONS", "/v1/metrics", "", {{"Origin", "http://localhost:3000"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("access-control-allow-origin"), "*");
  EXPECT_FALSE(r.header("access-control-allow-methods").empty());
}

TEST_F(HttpIntegrationTest, SigtermExitsZero) {
  auto c = server_.Client();
  ASSERT_EQ(c->Get("/v1/health").status, 200);  // an idle keep-alive connection stays open
  EXPECT_EQ(server_.Stop(SIGTERM), 0) << server_.output();
  EXPECT_NE(server_.output().find("stopped"), std::string::npos);
}

TEST_F(HttpIntegrationTest, SigintExitsZero) {
  EXPECT_EQ(server_.Stop(SIGINT), 0) << server_.output();
}

TEST_F(HttpIntegrationTest, RestartOnSameDataDir) {
  const uint16_t first = server_.port();
  ASSERT_TRUE(server_.Restart()) << server_.output();
  EXPECT_NE(server_.port(), 0);
  (void)first;
  EXPECT_EQ(server_.Client()->Get("/v1/metrics").status, 200);
  server_.Kill();
  EXPECT_FALSE(server_.running());
  ASSERT_TRUE(server_.Start()) << server_.output();
  EXPECT_EQ(server_.Client()->Get("/v1/health").status, 200);
}

// ---- Start-up policy ----

TEST(HttpStartupTest, GeneratedTokenIsSavedPrivatelyAndReused) {
  TestServerOptions o;
  o.pass_api_key = false;
  TestServer server(o);
  ASSERT_TRUE(server.Start()) << server.output();
  std::smatch m;
  const std::string out = server.output();
  ASSERT_TRUE(std::regex_search(out, m, std::regex("dev token: ([0-9a-f]{64})"))) << out;
  const std::string token = m[1];

  const std::string key_file = server.data_dir() + "/api_key";
  struct stat st;
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(key_file);
  std::string stored;
  in >> stored;
  EXPECT_EQ(stored, token);

  HttpClient c(server.port(), token);
  EXPECT_EQ(c.Get("/v1/metrics").status, 200);
  EXPECT_EQ(server.Client(/*with_token=*/true)->Get("/v1/metrics").status, 401);  // "test-key" is not it

  ASSERT_TRUE(server.Restart()) << server.output();
  HttpClient again(server.port(), token);
  EXPECT_EQ(again.Get("/v1/metrics").status, 200) << server.output();
  // Printed once per start; the same token both times.
  const std::string all = server.output();
  const std::regex token_line("dev token: ([0-9a-f]{64})");
  auto begin = std::sregex_iterator(all.begin(), all.end(), token_line);
  int count = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it, ++count) EXPECT_EQ((*it)[1], token);
  EXPECT_EQ(count, 2);
}

TEST(HttpStartupTest, ExplicitKeyIsNotWrittenToDisk) {
  TestServer server;
  ASSERT_TRUE(server.Start()) << server.output();
  EXPECT_FALSE(std::filesystem::exists(server.data_dir() + "/api_key"));
  EXPECT_EQ(server.output().find("dev token"), std::string::npos);
}

TEST(HttpStartupTest, RefusesNonLoopbackBindWithoutExplicitKey) {
  TestDir dir;
  for (const char* bind : {"0.0.0.0", "::"}) {
    SCOPED_TRACE(bind);
    auto r = TestServer::Run({"--bind", bind, "--port", "0", "--data-dir", dir.path() + "/data"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("refusing to bind"), std::string::npos) << r.output;
  }
}

TEST(HttpStartupTest, HelpExitsZero) {
  auto r = TestServer::Run({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("--port"), std::string::npos);
}

TEST(HttpStartupTest, BadFlagExitsTwo) {
  auto r = TestServer::Run({"--no-such-flag", "1"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = TestServer::Run({"--port", "notaport"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(HttpStartupTest, BusyPortExitsOne) {
  TestServer first;
  ASSERT_TRUE(first.Start()) << first.output();
  TestDir dir;
  auto r = TestServer::Run({"--port", std::to_string(first.port()), "--data-dir", dir.path() + "/data",
                            "--api-key", "k"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
}

}  // namespace
}  // namespace kissvdb::testing
