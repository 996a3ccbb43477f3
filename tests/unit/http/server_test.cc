// HttpServer in process, on 127.0.0.1 with an ephemeral port, with
// test-only routes (echo, slow, throwing, streaming) that the real binary
// does not have.
// Before any Beast header: see the note in http_client.h.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "../../integration/http_client.h"
#include "http/builtin_routes.h"
#include "http/offload.h"
#include "util/metrics.h"

namespace kissvdb::http {
namespace {

using kissvdb::testing::HttpClient;
using kissvdb::testing::HttpResponse;
using kissvdb::testing::HttpStream;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kKey = "k";

ServerOptions TestOptions() {
  ServerOptions o;
  o.port = 0;
  o.io_threads = 2;
  o.request_timeout = 5s;
  o.idle_timeout = 5s;
  o.write_timeout = 5s;
  o.shutdown_grace = 3s;
  return o;
}

// Waits until pred() or the timeout.
template <class Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class TestServer {
 public:
  explicit TestServer(ServerOptions options = TestOptions()) {
    Router router;
    AddBuiltinRoutes(router);
    AddRoutes(router);
    Authenticator auth(kKey);
    auth.SetKeyLookup([](std::string_view token) -> Result<std::optional<Principal>> {
      if (token == "ro") return std::optional<Principal>(Principal{"ro-key", "read_only"});
      return std::optional<Principal>();
    });
    server_ = std::make_unique<HttpServer>(std::move(options), std::move(router), std::move(auth));
    Status st = server_->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  ~TestServer() {
    Stop();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : threads_) t.join();
    threads_.clear();
    held_.reset();
  }

  void Stop() { server_->Stop(); }
  void StopPool() { pool_.Stop(); }
  uint16_t port() const { return server_->port(); }
  std::unique_ptr<HttpClient> Client(bool token = true) {
    return std::make_unique<HttpClient>(port(), token ? kKey : "");
  }

  std::atomic<int> stream_closes{0};
  std::shared_ptr<StreamSink> held() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_;
  }

 private:
  void Later(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back(std::move(fn));
  }

  void AddRoutes(Router& r) {
    r.Add(Verb::post, "/echo", {.name = "echo"}, [](Request& req, const Responder& res) {
      auto body = req.JsonBody();
      if (!body.ok()) return res.Error(body.status());
      res.Send(Response::Ok({{"got", body.value()}}));
    });
    r.Add(Verb::get, "/items/{id}", {.name = "items"}, [](Request& req, const Responder& res) {
      res.Send(Response::Ok({{"id", req.param("id")},
                             {"q", req.query_or("q", "")},
                             {"path", req.path},
                             {"key_id", req.principal.key_id}}));
    });
    r.Add(Verb::put, "/things/{id}", {.writes = true, .name = "things.put"},
          [](Request& req, const Responder& res) { res.Send(Response::Ok({{"id", req.param("id")}})); });
    r.Add(Verb::get, "/public", {.is_public = true, .name = "public"},
          [](Request&, const Responder& res) { res.Send(Response::Text(200, "hi")); });
    r.Add(Verb::get, "/throw/json", {.name = "throw.json"}, [](Request&, const Responder&) {
      Json j = 1;
      (void)j.get<std::string>();  // type_error
    });
    r.Add(Verb::get, "/throw/std", {.name = "throw.std"},
          [](Request&, const Responder&) { throw std::runtime_error("secret detail /etc/x"); });
    r.Add(Verb::get, "/drop", {.name = "drop"}, [](Request&, const Responder&) {});
    r.Add(Verb::get, "/twice", {.name = "twice"}, [](Request&, const Responder& res) {
      res.Send(Response::Text(200, "first"));
      res.Send(Response::Text(200, "second"));
    });
    r.Add(Verb::get, "/headers", {.name = "headers"}, [](Request&, const Responder& res) {
      Response out = Response::Text(201, "made");
      out.headers.emplace_back("X-Custom", "v");
      out.headers.emplace_back("X-Bad", "a\r\nInjected: yes");
      res.Send(std::move(out));
    });
    r.Add(Verb::get, "/nocontent", {.name = "nocontent"},
          [](Request&, const Responder& res) { res.Send(Response::Text(204, "ignored")); });
    // Answers from another thread after ?ms= milliseconds.
    r.Add(Verb::get, "/slow", {.name = "slow"}, [this](Request& req, const Responder& res) {
      const int ms = std::stoi(req.query_or("ms", "100"));
      const std::string tag = req.query_or("tag", "");
      Later([res, ms, tag] {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        res.Send(Response::Ok({{"slept_ms", ms}, {"tag", tag}}));
      });
    });
    // Offloaded to pool_: says which thread ran it and what it read.
    r.Add(Verb::post, "/off/echo", {.name = "off.echo"},
          Offload(&pool_, "off.echo", [](Request& req, const Responder& res) {
            char name[16] = {};
            pthread_getname_np(pthread_self(), name, sizeof(name));
            auto body = req.JsonBody();
            if (!body.ok()) return res.Error(body.status());
            res.Send(Response::Ok({{"got", body.value()},
                                   {"thread", name},
                                   {"q", req.query_or("q", "")},
                                   {"content_type", std::string(req.header("Content-Type"))}}));
          }));
    r.Add(Verb::get, "/off/throw/json", {.name = "off.throw.json"},
          Offload(&pool_, "off.throw.json", [](Request&, const Responder&) {
            Json j = 1;
            (void)j.get<std::string>();
          }));
    r.Add(Verb::get, "/off/throw/std", {.name = "off.throw.std"},
          Offload(&pool_, "off.throw.std",
                  [](Request&, const Responder&) { throw std::runtime_error("secret detail /etc/x"); }));
    // Three events, then Close().
    r.Add(Verb::get, "/stream", {.name = "stream"}, [this](Request&, const Responder& res) {
      Response head;
      head.content_type = "text/event-stream";
      auto sink = res.StartStream(std::move(head));
      sink->OnClose([this] { stream_closes++; });
      for (int i = 1; i <= 3; ++i) EXPECT_TRUE(sink->Send("data: " + std::to_string(i) + "\n\n"));
      sink->Close();
      EXPECT_TRUE(sink->closed());
      EXPECT_FALSE(sink->Send("late"));
    });
    // Starts a stream and hands the sink to the test.
    r.Add(Verb::get, "/stream/hold", {.name = "stream.hold"}, [this](Request&, const Responder& res) {
      Response head;
      head.content_type = "text/event-stream";
      auto sink = res.StartStream(std::move(head));
      sink->OnClose([this] { stream_closes++; });
      sink->Send(": hello\n\n");
      std::lock_guard<std::mutex> lock(mu_);
      held_ = sink;
    });
  }

  // Declared before server_, so it outlives it.
  TaskPool pool_{"test-pool", 2};
  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::vector<std::thread> threads_;
  std::shared_ptr<StreamSink> held_;
};

std::string Req(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer k\r\n" + extra + "\r\n";
}

// ---- Routing, auth, errors ----

TEST(ServerTest, HealthIsPublicMetricsAreNot) {
  TestServer s;
  auto anon = s.Client(false);
  HttpResponse r = anon->Get("/v1/health");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.json["status"], "ok");
  EXPECT_EQ(r.json["version"], KISSVDB_VERSION);
  EXPECT_TRUE(r.json["uptime_secs"].is_number_integer());
  r = anon->Get("/v1/metrics");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer");
  r = s.Client()->Get("/v1/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4");
  EXPECT_NE(r.body.find("# TYPE sse_clients gauge"), std::string::npos);
  EXPECT_NE(r.body.find("http_requests_total{route=\"health\",status=\"200\"}"), std::string::npos);
}

TEST(ServerTest, UnknownRouteIs401ThenNotFound) {
  TestServer s;
  HttpResponse r = s.Client(false)->Get("/nope");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.json["error"], "unauthorized");
  EXPECT_EQ(r.json["message"], "missing authorization header");
  r = s.Client()->Get("/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.json["error"], "not_found");
}

TEST(ServerTest, MethodNotAllowedHasAllow) {
  TestServer s;
  HttpResponse r = s.Client()->Request("DELETE", "/echo", "");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.json["error"], "method_not_allowed");
  EXPECT_EQ(r.header("Allow"), "POST");
  EXPECT_EQ(s.Client(false)->Request("DELETE", "/echo", "").status, 401);
}

TEST(ServerTest, PathAndQueryDecoding) {
  TestServer s;
  HttpResponse r = s.Client()->Get("/items/a%2Fb%20c?q=x+y%21");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["id"], "a/b c");
  EXPECT_EQ(r.json["q"], "x y!");
  EXPECT_EQ(r.json["path"], "/items/a/b c");
  EXPECT_EQ(r.json["key_id"], "bootstrap");
  r = s.Client()->Get("/items/a%zz");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json["error"], "invalid_argument");
  EXPECT_EQ(s.Client(false)->Get("/items/a%zz").status, 401);
  r = s.Client()->Get("/items/a?q=%g");
  EXPECT_EQ(r.status, 400);
  // The key may come from the query.
  EXPECT_EQ(s.Client(false)->Get("/items/x?api_key=k").status, 200);
}

TEST(ServerTest, ReadOnlyKeysCannotWrite) {
  TestServer s;
  HttpClient ro(s.port(), "ro");
  HttpResponse r = ro.Get("/items/1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json["key_id"], "ro-key");
  r = ro.Put("/things/1", {{"a", 1}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.json["error"], "forbidden");
  EXPECT_EQ(s.Client()->Put("/things/1", {{"a", 1}}).status, 200);
  EXPECT_EQ(HttpClient(s.port(), "other").Get("/items/1").status, 401);
}

TEST(ServerTest, PublicRouteSkipsAuth) {
  TestServer s;
  HttpResponse r = s.Client(false)->Get("/public");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hi");
  // Even with a wrong key.
  EXPECT_EQ(s.Client(false)->Get("/public", {{"Authorization", "nonsense"}}).status, 200);
}

TEST(ServerTest, JsonBodyErrorsAreJson) {
  TestServer s;
  auto c = s.Client();
  HttpResponse r = c->Post("/echo", {{"a", 1}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json["got"]["a"], 1);
  r = c->Request("POST", "/echo", "{\"a\": nope}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.json["error"], "invalid_argument");
  EXPECT_NE(r.json["message"].get<std::string>().find("at byte"), std::string::npos);
  r = c->Request("POST", "/echo", "{}", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(r.json["error"], "unsupported_media_type");
  r = c->Request("POST", "/echo", "");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(c->connected());  // errors keep the connection
  EXPECT_EQ(c->connects(), 1);
}

TEST(ServerTest, HandlerExceptionsAreMapped) {
  TestServer s;
  auto c = s.Client();
  HttpResponse r = c->Get("/throw/json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json["error"], "invalid_argument");
  EXPECT_EQ(r.json["message"], "type must be string, but is number");
  r = c->Get("/throw/std");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.json, Json({{"error", "internal"}, {"message", "internal error"}}));
  EXPECT_EQ(r.body.find("secret"), std::string::npos);
  r = c->Get("/drop");
  EXPECT_EQ(r.status, 500);
  r = c->Get("/twice");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "first");
  EXPECT_EQ(c->Get("/items/1").status, 200);  // the connection is fine
  EXPECT_EQ(c->connects(), 1);
}

TEST(ServerTest, ExtraHeadersAndNoContent) {
  TestServer s;
  auto c = s.Client();
  HttpResponse r = c->Get("/headers");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.header("X-Custom"), "v");
  EXPECT_EQ(r.header("X-Bad"), "");
  EXPECT_EQ(r.header("Injected"), "");
  r = c->Get("/nocontent");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.header("content-length"), "");
  EXPECT_EQ(c->Get("/items/1").status, 200);
}

TEST(ServerTest, AsyncAnswerFromAnotherThread) {
  TestServer s;
  HttpResponse r = s.Client()->Get("/slow?ms=50");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.json["slept_ms"], 50);
  EXPECT_FALSE(r.header("date").empty());
}

TEST(ServerTest, OffloadedHandlersRunOnThePool) {
  TestServer s;
  auto c = s.Client();
  HttpResponse r = c->Post("/off/echo?q=x", Json{{"a", 1}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["got"], Json({{"a", 1}}));
  EXPECT_EQ(r.json["thread"], "test-pool");
  EXPECT_EQ(r.json["q"], "x");
  EXPECT_EQ(r.json["content_type"], "application/json");
  // The request is a copy: pipelined requests on one connection, offloaded
  // and not, each see their own body and come back in order.
  std::string pipelined;
  for (int i = 0; i < 3; ++i) {
    const std::string body = "{\"i\":" + std::to_string(i) + "}";
    pipelined += "POST /off/echo HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer k\r\n"
                 "Content-Type: application/json\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body;
    pipelined += Req("/items/" + std::to_string(i));
  }
  ASSERT_TRUE(c->Write(pipelined));
  for (int i = 0; i < 3; ++i) {
    HttpResponse echo = c->ReadResponse();
    ASSERT_EQ(echo.status, 200) << echo.error << echo.body;
    EXPECT_EQ(echo.json["got"], Json({{"i", i}}));
    HttpResponse item = c->ReadResponse();
    EXPECT_EQ(item.json["id"], std::to_string(i));
  }
  // Exceptions are answered as on the I/O thread.
  r = c->Get("/off/throw/json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json["message"], "type must be string, but is number");
  r = c->Get("/off/throw/std");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("secret"), std::string::npos);
  // A stopped pool answers 503.
  s.StopPool();
  r = c->Post("/off/echo", Json{{"a", 1}});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.json["error"], "unavailable");
  EXPECT_EQ(c->connects(), 1);
}

// ---- Connection handling ----

TEST(ServerTest, KeepAliveReusesOneConnection) {
  TestServer s;
  auto c = s.Client();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(c->Get("/items/" + std::to_string(i)).status, 200);
  EXPECT_EQ(c->connects(), 1);
}

TEST(ServerTest, PipelinedRequestsAnsweredInOrder) {
  TestServer s;
  auto c = s.Client();
  ASSERT_TRUE(c->Write(Req("/slow?ms=150&tag=a") + Req("/items/b") + Req("/slow?ms=10&tag=c")));
  HttpResponse r1 = c->ReadResponse();
  HttpResponse r2 = c->ReadResponse();
  HttpResponse r3 = c->ReadResponse();
  ASSERT_EQ(r1.status, 200) << r1.error;
  EXPECT_EQ(r1.json["tag"], "a");
  EXPECT_EQ(r2.json["id"], "b");
  EXPECT_EQ(r3.json["tag"], "c");
}

TEST(ServerTest, Http10WithoutKeepAliveCloses) {
  TestServer s;
  auto c = s.Client();
  HttpResponse r = c->SendRaw("GET /public HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("connection"), "close");
  r = c->SendRaw("GET /public HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("connection"), "keep-alive");
}

TEST(ServerTest, BodyOverLimitIs413) {
  ServerOptions o = TestOptions();
  o.max_body_bytes = 1000;
  TestServer s(o);
  auto c = s.Client();
  EXPECT_EQ(c->Post("/echo", std::string(900, 'x')).status, 200);
  HttpResponse r = c->Post("/echo", std::string(5000, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.json["error"], "payload_too_large");
  EXPECT_EQ(r.header("connection"), "close");
  // Chunked: refused once the limit is crossed.
  std::string chunked =
      "POST /echo HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer k\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) chunked += "1f4\r\n" + std::string(500, 'x') + "\r\n";
  chunked += "0\r\n\r\n";
  auto c2 = s.Client();
  r = c2->SendRaw(chunked);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.json["error"], "payload_too_large");
}

TEST(ServerTest, BodyOverLimitWhileClientStillSending) {
  // The client writes the whole oversized body; the 413 must still arrive
  // (the server drains instead of resetting the connection).
  TestServer s;  // 1 MiB limit
  auto c = s.Client();
  HttpResponse r = c->Post("/echo", std::string(3 << 20, 'x'));
  EXPECT_EQ(r.status, 413) << r.error;
}

TEST(ServerTest, HeadersOverLimitAre431) {
  ServerOptions o = TestOptions();
  o.max_header_bytes = 2048;
  TestServer s(o);
  HttpResponse r = s.Client()->Get("/items/1", {{"X-Big", std::string(4000, 'a')}});
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.json["error"], "payload_too_large");
}

TEST(ServerTest, MalformedRequestIs400) {
  TestServer s;
  HttpResponse r = s.Client()->SendRaw("GET /x HTTP/1.1\r\nBad Header\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json["error"], "invalid_argument");
  EXPECT_EQ(r.header("connection"), "close");
}

TEST(ServerTest, ExpectContinue) {
  TestServer s;
  auto c = s.Client();
  ASSERT_TRUE(c->Write(
      "POST /echo HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\n"
      "Content-Length: 7\r\nExpect: 100-continue\r\n\r\n"));
  HttpResponse interim = c->ReadResponse();
  EXPECT_EQ(interim.status, 100);
  ASSERT_TRUE(c->Write("[1,2,3]"));
  HttpResponse r = c->ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json["got"], Json::array({1, 2, 3}));
}

TEST(ServerTest, RequestTimeoutIs408) {
  ServerOptions o = TestOptions();
  o.request_timeout = 300ms;
  TestServer s(o);
  auto c = s.Client();
  const auto start = Clock::now();
  ASSERT_TRUE(c->Write("GET /items/1 HTTP/1.1\r\nHost: t\r\n"));  // never finished
  HttpResponse r = c->ReadResponse();
  EXPECT_EQ(r.status, 408) << r.error;
  EXPECT_EQ(r.json["error"], "request_timeout");
  EXPECT_LT(Clock::now() - start, 3s);
}

TEST(ServerTest, TricklingRequestStillTimesOut) {
  ServerOptions o = TestOptions();
  o.request_timeout = 400ms;
  TestServer s(o);
  auto c = s.Client();
  const auto start = Clock::now();
  HttpResponse r;
  ASSERT_TRUE(c->Write("GET /items/1 HTTP/1.1\r\n"));
  for (int i = 0; i < 10 && Clock::now() - start < 2s; ++i) {
    std::this_thread::sleep_for(100ms);
    if (!c->Write("X-A: b\r\n")) break;
  }
  r = c->ReadResponse();
  EXPECT_EQ(r.status, 408) << r.error;
}

TEST(ServerTest, IdleConnectionIsClosed) {
  ServerOptions o = TestOptions();
  o.idle_timeout = 300ms;
  TestServer s(o);
  auto c = s.Client();
  ASSERT_EQ(c->Get("/items/1").status, 200);
  const auto start = Clock::now();
  HttpResponse r = c->ReadResponse();  // nothing to read: returns when the server closes
  EXPECT_EQ(r.status, 0);
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_GE(Clock::now() - start, 200ms);
}

TEST(ServerTest, CorsAnyOrigin) {
  TestServer s;
  auto anon = s.Client(false);
  HttpResponse r = anon->Request("OPTIONS", "/v1/metrics", "",
                                 {{"Origin", "http://app.example"},
                                  {"Access-Control-Request-Method", "GET"},
                                  {"Access-Control-Request-Headers", "authorization"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(r.header("Access-Control-Allow-Headers"), "authorization");
  EXPECT_NE(r.header("Access-Control-Allow-Methods").find("PUT"), std::string::npos);
  r = s.Client()->Get("/items/1", {{"Origin", "http://app.example"}});
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "*");
  // A page may read where a read stands (KissVDB-Offset) and the rest.
  EXPECT_NE(r.header("Access-Control-Expose-Headers").find("KissVDB-Offset"), std::string::npos);
  r = s.Client()->Get("/items/1");
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "");
  EXPECT_EQ(r.header("Access-Control-Expose-Headers"), "");
}

TEST(ServerTest, CorsConfiguredOrigins) {
  ServerOptions o = TestOptions();
  o.cors_allowed_origins = {"http://good.example"};
  TestServer s(o);
  HttpResponse r = s.Client()->Get("/items/1", {{"Origin", "http://good.example"}});
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "http://good.example");
  EXPECT_EQ(r.header("Vary"), "Origin");
  r = s.Client()->Get("/items/1", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "");
}

TEST(ServerTest, ResponseAfterClientLeftIsDropped) {
  TestServer s;
  {
    auto c = s.Client();
    ASSERT_TRUE(c->Write(Req("/slow?ms=200")));
    std::this_thread::sleep_for(50ms);
  }  // closed before the answer
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(s.Client()->Get("/items/1").status, 200);
}

TEST(ServerTest, ManyClientsInParallel) {
  TestServer s;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&s, &ok, t] {
      HttpClient c(s.port(), kKey);
      for (int i = 0; i < 100; ++i) {
        HttpResponse r = (i % 10 == 0) ? c.Post("/echo", {{"t", t}}) : c.Get("/items/" + std::to_string(i));
        if (r.status == 200) ok++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 800);
}

TEST(ServerTest, MetricsCountRequestsPerRouteAndStatus) {
  TestServer s;
  auto c = s.Client();
  Counter& items = Metrics::Global().counter("http_requests_total", {{"route", "items"}, {"status", "200"}});
  Counter& missing =
      Metrics::Global().counter("http_requests_total", {{"route", "unmatched"}, {"status", "404"}});
  const uint64_t items_before = items.value();
  const uint64_t missing_before = missing.value();
  ASSERT_EQ(c->Get("/items/1").status, 200);
  ASSERT_EQ(c->Get("/items/2").status, 200);
  ASSERT_EQ(c->Get("/zzz").status, 404);
  // Recorded when the write completes, which may be just after the client has the response.
  EXPECT_TRUE(Eventually([&] { return missing.value() == missing_before + 1; }));
  EXPECT_EQ(items.value(), items_before + 2);
  EXPECT_GE(Metrics::Global().gauge("http_connections_open").value(), 1);
}

// ---- Streams ----

TEST(ServerTest, StreamWritesChunksInOrderThenEnds) {
  TestServer s;
  HttpStream stream(s.port(), "/stream", kKey);
  ASSERT_EQ(stream.status(), 200) << stream.error();
  EXPECT_EQ(stream.header("content-type"), "text/event-stream");
  EXPECT_EQ(stream.header("cache-control"), "no-cache");
  EXPECT_EQ(stream.header("transfer-encoding"), "chunked");
  ASSERT_TRUE(stream.ReadToEnd());
  EXPECT_EQ(stream.data(), "data: 1\n\ndata: 2\n\ndata: 3\n\n");
  EXPECT_TRUE(Eventually([&] { return s.stream_closes.load() == 1; }));
}

TEST(ServerTest, StreamNeedsAuth) {
  TestServer s;
  HttpStream stream(s.port(), "/stream", "");
  EXPECT_EQ(stream.status(), 401) << stream.error();
}

TEST(ServerTest, StreamOnCloseFiresWhenClientLeaves) {
  TestServer s;
  auto stream = std::make_unique<HttpStream>(s.port(), "/stream/hold", kKey);
  ASSERT_EQ(stream->status(), 200);
  ASSERT_TRUE(stream->ReadUntil([](const std::string& d) { return d == ": hello\n\n"; }));
  ASSERT_TRUE(Eventually([&] { return s.held() != nullptr; }));
  auto sink = s.held();
  EXPECT_TRUE(sink->Send("data: x\n\n"));
  ASSERT_TRUE(stream->ReadUntil([](const std::string& d) { return d.find("data: x") != d.npos; }));
  stream.reset();  // the client goes away
  EXPECT_TRUE(Eventually([&] { return s.stream_closes.load() == 1; }));
  EXPECT_TRUE(sink->closed());
  EXPECT_FALSE(sink->Send("data: y\n\n"));
  EXPECT_EQ(sink->queued_bytes(), 0u);
  // OnClose set after the fact fires at once.
  bool fired = false;
  sink->OnClose([&] { fired = true; });
  EXPECT_TRUE(fired);
}

TEST(ServerTest, StreamBacklogIsReported) {
  TestServer s;
  HttpStream stream(s.port(), "/stream/hold", kKey);
  ASSERT_EQ(stream.status(), 200);
  ASSERT_TRUE(Eventually([&] { return s.held() != nullptr; }));
  auto sink = s.held();
  const std::string chunk(1 << 20, 'z');
  for (int i = 0; i < 32; ++i) ASSERT_TRUE(sink->Send(chunk));
  EXPECT_GT(sink->queued_bytes(), 0u);  // the client is not reading yet
  const size_t total = std::string(": hello\n\n").size() + 32 * chunk.size();
  ASSERT_TRUE(stream.ReadUntil([&](const std::string& d) { return d.size() >= total; }, 20s));
  EXPECT_EQ(stream.data().size(), total);
  EXPECT_TRUE(Eventually([&] { return sink->queued_bytes() == 0; }));
  sink->Close();
  EXPECT_TRUE(stream.ReadToEnd());
  EXPECT_TRUE(Eventually([&] { return s.stream_closes.load() == 1; }));
}

TEST(ServerTest, StopEndsStreams) {
  TestServer s;
  HttpStream stream(s.port(), "/stream/hold", kKey);
  ASSERT_EQ(stream.status(), 200);
  ASSERT_TRUE(Eventually([&] { return s.held() != nullptr; }));
  const auto start = Clock::now();
  s.Stop();
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(s.stream_closes.load(), 1);
  EXPECT_TRUE(stream.ReadToEnd(2s));
  EXPECT_FALSE(s.held()->Send("x"));
}

// ---- Graceful shutdown ----

TEST(ServerTest, StopLetsInFlightRequestFinish) {
  TestServer s;
  auto c = s.Client();
  auto pending = std::async(std::launch::async, [&c] { return c->Get("/slow?ms=500"); });
  std::this_thread::sleep_for(100ms);  // the request is in the handler
  const auto start = Clock::now();
  s.Stop();
  const auto took = Clock::now() - start;
  HttpResponse r = pending.get();
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
  // Not accepting any more.
  EXPECT_EQ(HttpClient(s.port(), kKey).Get("/items/1").status, 0);
}

TEST(ServerTest, StopClosesIdleConnectionsAtOnce) {
  TestServer s;
  auto c = s.Client();
  ASSERT_EQ(c->Get("/items/1").status, 200);
  const auto start = Clock::now();
  s.Stop();
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_EQ(c->ReadResponse().status, 0);  // closed by the server
}

TEST(ServerTest, RequestCompletingDuringShutdownGets503) {
  TestServer s;
  auto c = s.Client();
  ASSERT_TRUE(c->Write("GET /items/1 HTTP/1.1\r\nHost: t\r\n"));
  std::this_thread::sleep_for(100ms);  // the server has the first bytes
  auto stopped = std::async(std::launch::async, [&s] { s.Stop(); });
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(c->Write("Authorization: Bearer k\r\n\r\n"));
  HttpResponse r = c->ReadResponse();
  EXPECT_EQ(r.status, 503) << r.error;
  EXPECT_EQ(r.json["error"], "unavailable");
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_EQ(stopped.wait_for(3s), std::future_status::ready);
}

TEST(ServerTest, StopGivesUpAfterGrace) {
  ServerOptions o = TestOptions();
  o.shutdown_grace = 300ms;
  TestServer s(o);
  auto c = s.Client();
  auto pending = std::async(std::launch::async, [&c] { return c->Get("/slow?ms=2000"); });
  std::this_thread::sleep_for(100ms);
  const auto start = Clock::now();
  s.Stop();
  EXPECT_LT(Clock::now() - start, 1500ms);
  EXPECT_EQ(pending.get().status, 0);  // cut off
}

TEST(ServerTest, StartFailsOnBusyPort) {
  TestServer a;
  ServerOptions o = TestOptions();
  o.port = a.port();
  Router router;
  HttpServer b(o, std::move(router), Authenticator(kKey));
  Status st = b.Start();
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find(std::to_string(a.port())), std::string::npos) << st.message();
}

}  // namespace
}  // namespace kissvdb::http
