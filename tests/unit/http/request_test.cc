#include "http/request.h"

#include <gtest/gtest.h>

#include "http/errors.h"

namespace kissvdb::http {
namespace {

namespace bhttp = boost::beast::http;

struct Fixture {
  BeastRequest raw;
  Request req;
  Fixture(std::string body, const char* content_type) {
    raw.method(bhttp::verb::post);
    raw.target("/x");
    if (content_type) raw.set(bhttp::field::content_type, content_type);
    raw.body() = std::move(body);
    req.raw = &raw;
  }
};

TEST(JsonBodyTest, ParsesJsonWithAnyJsonContentType) {
  for (const char* ct : {"application/json", "application/json; charset=utf-8", "Application/JSON",
                         "application/merge-patch+json", "application/vnd.api+json"}) {
    Fixture f(R"({"a":[1,2]})", ct);
    auto j = f.req.JsonBody();
    ASSERT_TRUE(j.ok()) << ct << ": " << j.status().ToString();
    EXPECT_EQ(j.value()["a"][1], 2);
  }
}

TEST(JsonBodyTest, MissingContentTypeIsAccepted) {
  Fixture f("[true]", nullptr);
  auto j = f.req.JsonBody();
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j.value(), Json::array({true}));
}

TEST(JsonBodyTest, OtherContentTypeIs415) {
  for (const char* ct : {"text/plain", "application/x-www-form-urlencoded", "json", "application/jsonx"}) {
    Fixture f("{}", ct);
    auto j = f.req.JsonBody();
    ASSERT_FALSE(j.ok()) << ct;
    EXPECT_EQ(j.status().code(), Code::kUnsupportedMediaType);
    EXPECT_EQ(HttpStatusOf(j.status().code()), 415);
  }
}

TEST(JsonBodyTest, SyntaxErrorIs400WithPosition) {
  Fixture f(R"({"a": tru})", "application/json");
  auto j = f.req.JsonBody();
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Code::kInvalidArgument);
  EXPECT_NE(j.status().message().find("at byte"), std::string::npos) << j.status().message();
  EXPECT_EQ(j.status().message().find("[json.exception"), std::string::npos);
}

TEST(JsonBodyTest, EmptyBody) {
  Fixture f("  \n", "application/json");
  auto j = f.req.JsonBody();
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Code::kInvalidArgument);
  auto allowed = f.req.JsonBody(/*allow_empty=*/true);
  ASSERT_TRUE(allowed.ok());
  EXPECT_TRUE(allowed.value().is_null());
}

TEST(JsonBodyTest, DeepNestingIsRefused) {
  Fixture deep(std::string(100000, '['), "application/json");
  auto j = deep.req.JsonBody();
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Code::kInvalidArgument);
  // Brackets inside strings do not count.
  Fixture quoted("\"" + std::string(1000, '[') + "\"", "application/json");
  EXPECT_TRUE(quoted.req.JsonBody().ok());
  Fixture ok(std::string(100, '[') + std::string(100, ']'), "application/json");
  EXPECT_TRUE(ok.req.JsonBody().ok());
}

TEST(JsonBodyTest, LongInputInErrorIsTruncated) {
  Fixture f("\"" + std::string(5000, 'x'), "application/json");  // unterminated string
  auto j = f.req.JsonBody();
  ASSERT_FALSE(j.ok());
  EXPECT_LT(j.status().message().size(), 400u);
}

TEST(RequestTest, HeaderAndQueryAccessors) {
  Fixture f("", "application/json");
  f.raw.set("X-Thing", "v");
  EXPECT_EQ(f.req.header("x-thing"), "v");
  EXPECT_EQ(f.req.header("absent"), "");
  f.req.query["limit"] = "5";
  EXPECT_EQ(f.req.query_or("limit", "100"), "5");
  EXPECT_EQ(f.req.query_or("prefix", "p"), "p");
  Request empty;
  EXPECT_EQ(empty.header("x"), "");
  EXPECT_EQ(empty.body(), "");
}

TEST(ResponseTest, ErrorBody) {
  Response r = Response::Error(Status(Code::kRevisionMismatch, "expected 3, got 4"));
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(Json::parse(r.body), Json({{"error", "revision_mismatch"}, {"message", "expected 3, got 4"}}));
}

TEST(ResponseTest, JsonReplacesInvalidUtf8) {
  Response r = Response::Json(200, Json{{"k", std::string("a\xff" "b")}});
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(Json::accept(r.body)) << r.body;
}

TEST(ResponseTest, TextAndErrorWithStatus) {
  Response t = Response::Text(200, "ok");
  EXPECT_EQ(t.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(t.body, "ok");
  Response e = ErrorWithStatus(431, Code::kPayloadTooLarge, "headers");
  EXPECT_EQ(e.status, 431u);
  EXPECT_EQ(Json::parse(e.body)["error"], "payload_too_large");
}

TEST(ErrorsTest, ShortJsonError) {
  EXPECT_EQ(ShortJsonError("[json.exception.type_error.302] type must be string, but is number"),
            "type must be string, but is number");
  EXPECT_EQ(ShortJsonError("plain"), "plain");
  EXPECT_LE(ShortJsonError(std::string(1000, 'x')).size(), 203u);
}

}  // namespace
}  // namespace kissvdb::http
