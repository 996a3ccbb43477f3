#include "http/router.h"

#include <gtest/gtest.h>

namespace kissvdb::http {
namespace {

Handler Named(std::string* hit, std::string name) {
  return [hit, name](Request&, const Responder&) { *hit = name; };
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add(Verb::get, "/v1/state/{key}", {.name = "state.get"}, Named(&hit_, "get"));
    router_.Add(Verb::put, "/v1/state/{key}", {.writes = true, .name = "state.put"}, Named(&hit_, "put"));
    router_.Add(Verb::delete_, "/v1/state/{key}", {.writes = true, .name = "state.delete"},
                Named(&hit_, "delete"));
    router_.Add(Verb::post, "/v1/state/batch_put", {.writes = true, .name = "state.batch_put"},
                Named(&hit_, "batch"));
    router_.Add(Verb::get, "/v1/state", {.name = "state.list"}, Named(&hit_, "list"));
    router_.Add(Verb::get, "/v1/doc/{collection}/{id}", {.name = "doc.get"}, Named(&hit_, "doc"));
    router_.Add(Verb::post, "/v1/doc/{collection}/find", {.name = "doc.find"}, Named(&hit_, "find"));
    router_.Add(Verb::get, "/v1/health", {.is_public = true, .name = "health"}, Named(&hit_, "health"));
  }
  Router router_;
  std::string hit_;
};

TEST_F(RouterTest, FindsLiteralRoute) {
  auto m = router_.Find(Verb::get, "/v1/health");
  ASSERT_EQ(m.kind, Router::Match::kFound);
  EXPECT_EQ(m.info->name, "health");
  EXPECT_TRUE(m.info->is_public);
  EXPECT_TRUE(m.params.empty());
  EXPECT_EQ(m.route_index, 7u);
}

TEST_F(RouterTest, CapturesArePercentDecoded) {
  auto m = router_.Find(Verb::get, "/v1/state/a%2Fb%20c+d");
  ASSERT_EQ(m.kind, Router::Match::kFound);
  EXPECT_EQ(m.params.at("key"), "a/b c+d");  // '+' is literal in paths
  Request req;
  req.params = m.params;
  EXPECT_EQ(req.param("key"), "a/b c+d");
  EXPECT_EQ(req.param("nope"), "");
}

TEST_F(RouterTest, LiteralBeatsCapture) {
  auto m = router_.Find(Verb::post, "/v1/state/batch_put");
  ASSERT_EQ(m.kind, Router::Match::kFound);
  EXPECT_EQ(m.info->name, "state.batch_put");
  // For other methods the capture route still applies.
  m = router_.Find(Verb::get, "/v1/state/batch_put");
  ASSERT_EQ(m.kind, Router::Match::kFound);
  EXPECT_EQ(m.info->name, "state.get");
  EXPECT_EQ(m.params.at("key"), "batch_put");
  // Registered before the literal one, still loses.
  m = router_.Find(Verb::post, "/v1/doc/users/find");
  ASSERT_EQ(m.kind, Router::Match::kFound);
  EXPECT_EQ(m.info->name, "doc.find");
  EXPECT_EQ(m.params.at("collection"), "users");
}

TEST_F(RouterTest, HandlerIsCallable) {
  auto m = router_.Find(Verb::delete_, "/v1/state/k");
  ASSERT_EQ(m.kind, Router::Match::kFound);
  Request req;
  Responder res([](Response) {}, [](Response) { return nullptr; });
  (*m.handler)(req, res);
  EXPECT_EQ(hit_, "delete");
  EXPECT_TRUE(m.info->writes);
}

TEST_F(RouterTest, NotFound) {
  EXPECT_EQ(router_.Find(Verb::get, "/v1/nope").kind, Router::Match::kNotFound);
  EXPECT_EQ(router_.Find(Verb::get, "/v1/state/a/b").kind, Router::Match::kNotFound);
  EXPECT_EQ(router_.Find(Verb::get, "/").kind, Router::Match::kNotFound);
  EXPECT_EQ(router_.Find(Verb::get, "").kind, Router::Match::kNotFound);
  // Captures must not be empty: a trailing slash is not a key.
  EXPECT_EQ(router_.Find(Verb::get, "/v1/state/").kind, Router::Match::kNotFound);
  EXPECT_EQ(router_.Find(Verb::get, "/v1/doc//x").kind, Router::Match::kNotFound);
}

TEST_F(RouterTest, MethodNotAllowedListsAllowedMethods) {
  auto m = router_.Find(Verb::post, "/v1/state/k");
  ASSERT_EQ(m.kind, Router::Match::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, PUT, DELETE");
  m = router_.Find(Verb::delete_, "/v1/health");
  ASSERT_EQ(m.kind, Router::Match::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET");
  // Every route whose pattern matches is listed, once, in registration order.
  m = router_.Find(Verb::patch, "/v1/state/batch_put");
  ASSERT_EQ(m.kind, Router::Match::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, PUT, DELETE, POST");
}

TEST_F(RouterTest, EncodedLiteralSegmentsMatch) {
  auto m = router_.Find(Verb::get, "/v1/%68ealth");
  ASSERT_EQ(m.kind, Router::Match::kFound);
  EXPECT_EQ(m.info->name, "health");
}

TEST_F(RouterTest, MalformedEscapeInCaptureDoesNotMatch) {
  EXPECT_EQ(router_.Find(Verb::get, "/v1/state/a%zz").kind, Router::Match::kNotFound);
  EXPECT_EQ(router_.Find(Verb::get, "/v1/state/a%2").kind, Router::Match::kNotFound);
}

TEST(RouterEmptyTest, NothingRegistered) {
  Router router;
  EXPECT_EQ(router.size(), 0u);
  EXPECT_EQ(router.Find(Verb::get, "/v1/health").kind, Router::Match::kNotFound);
}

}  // namespace
}  // namespace kissvdb::http
