// Auth against the real binary, on EVERY registered route: a missing,
// empty, wrong, wrongly-cased or padded token is 401 with the JSON error
// shape; the right token works in each of its three places; and no token,
// right or wrong, ever reaches the server's output or its files.
//
// The route list is not written here: it is read from the registration
// calls in src/ (the route table in src/api/routes.cc and every other
// router.Add), so a route added later is covered without touching this
// test. Routes that are public on purpose are listed in kPublicRoutes; a
// route that answers without a key and is not listed there fails the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

#include "raw_conn.h"
#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

struct Route {
  std::string method;   // GET, POST, ...
  std::string pattern;  // /v1/state/{key}
  std::string Name() const { return method + " " + pattern; }
};

// Served without a key by design. Adding a route here is a security
// decision: say why in the route's registration.
const std::set<std::string> kPublicRoutes = {
    "GET /v1/health",                                   // load balancers and Docker's HEALTHCHECK
    "GET /",           "GET /docs",          "GET /assets/{file}",  // the static web console
    "GET /openapi.yaml", "GET /openapi.json",           // the API description
};

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every `Verb::x, "/path"` pair in the sources under src/: table entries
// and router.Add calls alike.
std::vector<Route> RegisteredRoutes() {
  static const std::regex kEntry(R"re(Verb::(\w+),\s*"(/[^"]*)")re");
  std::vector<Route> routes;
  std::set<std::string> seen;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(KISSVDB_SOURCE_DIR) + "/src")) {
    if (entry.path().extension() != ".cc") continue;
    const std::string text = ReadText(entry.path());
    for (std::sregex_iterator it(text.begin(), text.end(), kEntry), end; it != end; ++it) {
      std::string verb = (*it)[1];
      if (verb == "delete_") verb = "delete";
      for (char& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      Route r{verb, (*it)[2]};
      if (seen.insert(r.Name()).second) routes.push_back(r);
    }
  }
  return routes;
}

// A concrete target for a pattern: each {capture} becomes a plain segment.
std::string Target(const std::string& pattern) {
  return std::regex_replace(pattern, std::regex(R"(\{[^}]*\})"), "x");
}

bool IsPublic(const Route& r) { return kPublicRoutes.count(r.Name()) > 0; }

TestServerOptions ServerOptions(std::vector<std::string> args, std::string key) {
  TestServerOptions o;
  o.args = std::move(args);
  o.api_key = std::move(key);
  return o;
}

class AuthEveryRouteTest : public ::testing::Test {
 protected:
  static constexpr const char* kKey = "Right-Token-4f1c9e";

  void SetUp() override {
    routes_ = RegisteredRoutes();
    ASSERT_TRUE(server_.Start()) << server_.output();
  }

  // The status of `method target` sent raw with `headers` (CRLF-terminated
  // lines), read from the head alone: streamed routes never end.
  int RawStatus(const Route& route, const std::string& target, const std::string& headers) {
    RawConn c(server_.port());
    const std::string body = route.method == "GET" ? "" : "{}";
    c.Send(route.method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers +
           (body.empty() ? "" : "Content-Type: application/json\r\nContent-Length: 2\r\n") + "\r\n" + body);
    RawConn::Result r = c.ReadUntil([](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; },
                                    std::chrono::seconds(10));
    return RawConn::StatusOf(r.data);
  }

  TestServer server_{ServerOptions({"--durability", "none"}, kKey)};
  std::vector<Route> routes_;
};

TEST_F(AuthEveryRouteTest, TheRouteListIsComplete) {
  ASSERT_GE(routes_.size(), 38u) << "routes were not found in " << KISSVDB_SOURCE_DIR << "/src";
  std::set<std::string> names;
  size_t public_routes = 0;
  for (const Route& r : routes_) {
    names.insert(r.Name());
    public_routes += IsPublic(r) ? 1 : 0;
  }
  std::cout << "[ INFO     ] " << routes_.size() << " routes in src/, " << public_routes << " public\n";
  for (const char* must : {"GET /v1/state/{key}", "POST /v1/sql/exec", "GET /v1/metrics", "POST /v1/admin/snapshot",
                           "DELETE /v1/auth/keys/{id}", "GET /v1/stream"}) {
    EXPECT_TRUE(names.count(must)) << must << " was not found by the source scan";
  }
  // Each scanned route is really served: with the key it is neither the
  // router's 404 nor a 405.
  for (const Route& r : routes_) {
    const int status = RawStatus(r, Target(r.pattern), "Authorization: Bearer " + std::string(kKey) + "\r\n");
    EXPECT_NE(status, 405) << r.Name();
    EXPECT_NE(status, 0) << r.Name();
    if (status == 404) {
      HttpResponse again = HttpClient(server_.port(), kKey).Request(r.method, Target(r.pattern), r.method == "GET" ? "" : "{}");
      EXPECT_EQ(again.json["message"].get<std::string>().rfind("no route for", 0), std::string::npos)
          << r.Name() << " is in the sources but not served: " << again.body;
    }
  }
}

TEST_F(AuthEveryRouteTest, EveryProtectedRouteRefusesBadTokens) {
  const std::string key = kKey;
  std::string upper = key, lower = key;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  struct Case {
    std::string name;
    Headers headers;
    std::string query;  // appended as ?query
  };
  const std::vector<Case> cases = {
      {"no credentials", {}, ""},
      {"empty Bearer", {{"Authorization", "Bearer "}}, ""},
      {"Bearer alone", {{"Authorization", "Bearer"}}, ""},
      {"wrong Bearer", {{"Authorization", "Bearer wrong"}}, ""},
      {"token upper-cased", {{"Authorization", "Bearer " + upper}}, ""},
      {"token lower-cased", {{"Authorization", "Bearer " + lower}}, ""},
      {"token upper-cased, bearer scheme", {{"Authorization", "bearer " + upper}}, ""},
      {"token prefix", {{"Authorization", "Bearer " + key.substr(0, key.size() - 1)}}, ""},
      {"token plus a byte", {{"Authorization", "Bearer " + key + "x"}}, ""},
      {"token then a word", {{"Authorization", "Bearer " + key + " x"}}, ""},
      {"two spaces before the token", {{"Authorization", "Bearer  " + key}}, ""},
      {"no scheme", {{"Authorization", key}}, ""},
      {"Basic scheme", {{"Authorization", "Basic " + key}}, ""},
      {"Token scheme", {{"Authorization", "Token " + key}}, ""},
      {"wrong Authorization beats right X-API-Key", {{"Authorization", "Bearer wrong"}, {"X-API-Key", key}}, ""},
      {"empty X-API-Key", {{"X-API-Key", ""}}, ""},
      {"wrong X-API-Key", {{"X-API-Key", "wrong"}}, ""},
      {"X-API-Key upper-cased", {{"X-API-Key", upper}}, ""},
      {"wrong X-API-Key beats right api_key", {{"X-API-Key", "wrong"}}, "api_key=" + key},
      {"empty api_key", {}, "api_key="},
      {"wrong api_key", {}, "api_key=wrong"},
      {"api_key upper-cased", {}, "api_key=" + upper},
      {"api_key with a trailing space", {}, "api_key=" + key + "%20"},
      {"api_key with a trailing +", {}, "api_key=" + key + "+"},
      {"api_key with a trailing newline", {}, "api_key=" + key + "%0A"},
      {"api_key with a trailing CRLF", {}, "api_key=" + key + "%0D%0A"},
      {"api_key with a trailing NUL", {}, "api_key=" + key + "%00"},
      {"api_key with a leading space", {}, "api_key=%20" + key},
      {"Api_Key (parameter names are case-sensitive)", {}, "Api_Key=" + key},
  };
  HttpClient client(server_.port());
  size_t protected_routes = 0;
  for (const Route& route : routes_) {
    if (IsPublic(route)) continue;
    ++protected_routes;
    for (const Case& k : cases) {
      SCOPED_TRACE(route.Name() + ": " + k.name);
      const std::string target = Target(route.pattern) + (k.query.empty() ? "" : "?" + k.query);
      HttpResponse r = client.Request(route.method, target, route.method == "GET" ? "" : "{}", k.headers);
      ASSERT_EQ(r.status, 401) << r.error << r.body.substr(0, 200);
      EXPECT_EQ(r.header("content-type"), "application/json");
      EXPECT_EQ(r.json.size(), 2u) << r.body;
      EXPECT_EQ(r.json.value("error", ""), "unauthorized");
      EXPECT_TRUE(r.json["message"].is_string());
      EXPECT_EQ(r.body.find(key), std::string::npos) << "a 401 must not echo the token";
    }
  }
  EXPECT_GE(protected_routes, 36u);
}

TEST_F(AuthEveryRouteTest, RawHeaderEdgeCases) {
  const std::string key = kKey;
  const Route health{"GET", "/v1/metrics"};
  // A trailing space or tab after the token is optional whitespace that
  // HTTP strips before any application sees the value (RFC 9110 5.5): the
  // token itself is intact, so the request is authenticated.
  EXPECT_EQ(RawStatus(health, "/v1/metrics", "Authorization: Bearer " + key + " \r\n"), 200);
  EXPECT_EQ(RawStatus(health, "/v1/metrics", "X-API-Key: " + key + "\t\r\n"), 200);
  // A newline inside the header value is not a token byte: the request is
  // malformed (400) and never reaches auth.
  EXPECT_EQ(RawStatus(health, "/v1/metrics", "Authorization: Bearer " + key + "\n\r\n"), 400);
  EXPECT_EQ(RawStatus(health, "/v1/metrics", "Authorization: Bearer " + key + "\r\n" + "Authorization: Bearer " + key + "\r\n"), 200)
      << "a repeated identical header is the same token";
  // A control byte glued to the token: malformed or refused, never accepted.
  for (const std::string& junk : {std::string("\x01"), std::string("\x7f"), std::string("\x0b")}) {
    const int status = RawStatus(health, "/v1/metrics", "Authorization: Bearer " + key + junk + "\r\n");
    EXPECT_TRUE(status == 400 || status == 401) << status;
  }
}

TEST_F(AuthEveryRouteTest, TheRightTokenWorksInEachPlace) {
  const std::string key = kKey;
  const std::vector<std::pair<std::string, std::string>> places = {
      {"Authorization: Bearer " + key + "\r\n", ""},
      {"Authorization: bearer " + key + "\r\n", ""},  // the scheme is case-insensitive
      {"Authorization: BEARER " + key + "\r\n", ""},
      {"X-API-Key: " + key + "\r\n", ""},
      {"", "api_key=" + key},
      {"", "api_key=" + std::regex_replace(key, std::regex("-"), "%2D")},  // percent-encoded
  };
  for (const Route& route : routes_) {
    for (const auto& [header, query] : places) {
      SCOPED_TRACE(route.Name() + " with " + (header.empty() ? query : header));
      const std::string target = Target(route.pattern) + (query.empty() ? "" : "?" + query);
      const int status = RawStatus(route, target, header);
      EXPECT_NE(status, 0);
      EXPECT_NE(status, 401);
      EXPECT_NE(status, 403) << "the bootstrap key is admin";
    }
  }
  // Public routes need nothing.
  for (const Route& route : routes_) {
    if (IsPublic(route)) {
      EXPECT_NE(RawStatus(route, Target(route.pattern), ""), 401) << route.Name();
    }
  }
}

// Every file under `dir` that contains `needle`.
std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && ReadText(entry.path()).find(needle) != std::string::npos) {
      out.push_back(entry.path().string());
    }
  }
  return out;
}

TEST(AuthLogTest, TokensNeverReachTheLogsOrTheDisk) {
  const std::string bootstrap = "Bootstrap-Secret-0a9b8c7d";
  const std::string wrong = "Wrong-Secret-5e6f7a8b";
  TestServer server(
      ServerOptions({"--durability", "none", "--log-level", "trace", "--request-timeout-secs", "1"}, bootstrap));
  ASSERT_TRUE(server.Start()) << server.output();
  HttpClient admin(server.port(), bootstrap);
  HttpResponse created = admin.Post("/v1/auth/keys", {{"name", "ci"}, {"role", "read_write"}});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string api_key = created.json["key"];
  const std::string key_id = created.json["id"];

  HttpClient anon(server.port());
  for (const std::string& token : {bootstrap, api_key, wrong}) {
    for (const std::string& target : {std::string("/v1/state/k"), std::string("/v1/nope"), std::string("/v1/health")}) {
      anon.Request("GET", target, "", {{"Authorization", "Bearer " + token}});
      anon.Request("GET", target, "", {{"X-API-Key", token}});
      anon.Request("GET", target + "?api_key=" + token, "");
      anon.Request("GET", target + "?x=1&api_key=" + token + "&y=2", "");
      anon.Request("PUT", target + "?api_key=" + token, "{\"value\":1}");
      anon.Request("DELETE", "/v1/health?api_key=" + token, "");                // 405
      anon.Request("GET", "/v1/%zz?api_key=" + token, "");                      // 400 bad path
      anon.Request("GET", "/v1/state?limit=x&api_key=" + token, "");            // 400 bad parameter
      anon.Request("GET", "/v1/stream?since=bogus&api_key=" + token, "");       // 400 on a stream route
    }
    // Malformed and timed-out requests with the token in the target or a header.
    RawConn bad(server.port());
    bad.Send("GET /v1/health?api_key=" + token + "\x7f HTTP/1.1\r\n\r\n");
    bad.ReadUntilClosed(std::chrono::seconds(3));
    RawConn slow(server.port());
    slow.Send("GET /v1/state/k?api_key=" + token + " HTTP/1.1\r\nAuthorization: Bearer " + token + "\r\n");
    slow.ReadUntilClosed(std::chrono::seconds(3));  // 408 after 1 s
  }
  ASSERT_EQ(admin.Delete("/v1/auth/keys/" + key_id).status, 204);
  EXPECT_EQ(anon.Request("GET", "/v1/state/k", "", {{"X-API-Key", api_key}}).status, 401);  // revoked
  ASSERT_EQ(server.Stop(), 0);

  const std::string output = server.output();
  ASSERT_NE(output.find("GET /v1/nope"), std::string::npos) << "the access log was not at debug level:\n" << output;
  for (const std::string& token : {bootstrap, api_key, wrong}) {
    EXPECT_EQ(output.find(token), std::string::npos) << "token in the server output";
    EXPECT_EQ(output.find(token.substr(0, 12)), std::string::npos) << "part of a token in the server output";
    // Nor anywhere on disk: logs, the WAL, LMDB, snapshots.
    EXPECT_EQ(FilesContaining(server.dir(), token), std::vector<std::string>{}) << token;
  }
  EXPECT_EQ(output.find("api_key="), std::string::npos) << "query strings are not logged";
}

}  // namespace
}  // namespace kissvdb::testing
