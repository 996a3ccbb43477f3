#include "http/auth.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../../integration/test_dir.h"

namespace kissvdb::http {
namespace {

namespace bhttp = boost::beast::http;

Status Auth(const Authenticator& a, std::initializer_list<std::pair<const char*, const char*>> headers,
            std::map<std::string, std::string> query = {}, Principal* out = nullptr) {
  BeastRequest req;
  for (const auto& [name, value] : headers) req.set(name, value);
  Principal p;
  Status st = a.Authenticate(req, query, &p);
  if (out) *out = p;
  return st;
}

TEST(AuthTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secreT", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret1", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secre", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("", ""));  // an empty key never matches
  EXPECT_FALSE(ConstantTimeEquals("secretsecret", "secret"));  // cyclic compare, but lengths differ
}

TEST(AuthTest, TokenSourcesInOrder) {
  Authenticator a("k1");
  Principal p;
  EXPECT_TRUE(Auth(a, {{"Authorization", "Bearer k1"}}, {}, &p).ok());
  EXPECT_EQ(p.key_id, "bootstrap");
  EXPECT_EQ(p.role, "admin");
  EXPECT_TRUE(Auth(a, {{"X-API-Key", "k1"}}).ok());
  EXPECT_TRUE(Auth(a, {}, {{"api_key", "k1"}}).ok());
  // Authorization wins over the others, even when it is wrong.
  EXPECT_FALSE(Auth(a, {{"Authorization", "Bearer nope"}, {"X-API-Key", "k1"}}).ok());
  EXPECT_FALSE(Auth(a, {{"X-API-Key", "nope"}}, {{"api_key", "k1"}}).ok());
}

TEST(AuthTest, RefusalsUseOriginalMessages) {
  Authenticator a("k1");
  auto message = [&](Status st) {
    EXPECT_EQ(st.code(), Code::kUnauthorized);
    return st.message();
  };
  EXPECT_EQ(message(Auth(a, {})), "missing authorization header");
  EXPECT_EQ(message(Auth(a, {{"Authorization", "k1"}})), "invalid authorization header format");
  // The scheme is case-insensitive (RFC 9110 11.1; the original wanted "Bearer").
  EXPECT_TRUE(Auth(a, {{"Authorization", "bearer k1"}}).ok());
  EXPECT_TRUE(Auth(a, {{"Authorization", "BEARER k1"}}).ok());
  EXPECT_EQ(message(Auth(a, {{"Authorization", "bearer K1"}})), "invalid api key");
  EXPECT_EQ(message(Auth(a, {{"Authorization", "Bearerk1"}})), "invalid authorization header format");
  EXPECT_EQ(message(Auth(a, {{"Authorization", "Basic azE="}}, {{"api_key", "k1"}})),
            "invalid authorization header format");
  // HTTP strips trailing whitespace from values: "Bearer " arrives as "Bearer".
  EXPECT_EQ(message(Auth(a, {{"Authorization", "Bearer "}})), "invalid authorization header format");
  EXPECT_EQ(message(Auth(a, {{"Authorization", "Bearer k2"}})), "invalid api key");
  EXPECT_EQ(message(Auth(a, {{"Authorization", "Bearer  k1"}})), "invalid api key");
  EXPECT_EQ(message(Auth(a, {{"X-API-Key", ""}})), "invalid api key");
  EXPECT_EQ(message(Auth(a, {}, {{"api_key", ""}})), "invalid api key");
}

TEST(AuthTest, KeyLookupPlugsIn) {
  Authenticator a("k1");
  a.SetKeyLookup([](std::string_view token) -> Result<std::optional<Principal>> {
    if (token == "rk_live_ro") return std::optional<Principal>(Principal{"key-7", "read_only"});
    if (token == "broken") return Status::IOError("db locked");
    return std::optional<Principal>();
  });
  Principal p;
  EXPECT_TRUE(Auth(a, {{"Authorization", "Bearer rk_live_ro"}}, {}, &p).ok());
  EXPECT_EQ(p.key_id, "key-7");
  EXPECT_EQ(p.role, "read_only");
  EXPECT_EQ(Auth(a, {{"X-API-Key", "other"}}).code(), Code::kUnauthorized);
  Status st = Auth(a, {{"X-API-Key", "broken"}});
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_EQ(st.message().find("db locked"), std::string::npos);  // details stay in the log
}

TEST(AuthTest, LoopbackAddresses) {
  for (const char* a : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0", "::", "10.0.0.1", "192.168.1.1", "example.com", ""}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

TEST(AuthTest, BindPolicy) {
  Config c;
  EXPECT_TRUE(CheckBindPolicy(c).ok());
  c.bind = "0.0.0.0";
  Status st = CheckBindPolicy(c);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("0.0.0.0"), std::string::npos);
  c.api_key = "k";
  c.api_key_explicit = true;
  EXPECT_TRUE(CheckBindPolicy(c).ok());
}

TEST(AuthTest, ResolveApiKeyPrefersConfig) {
  testing::TestDir dir;
  Config c;
  c.data_dir = dir.path() + "/data";
  c.api_key = "configured";
  KeySource source;
  auto key = ResolveApiKey(c, &source);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key.value(), "configured");
  EXPECT_EQ(source, KeySource::kConfig);
  EXPECT_FALSE(std::filesystem::exists(ApiKeyPath(c.data_dir)));
}

TEST(AuthTest, ResolveApiKeyGeneratesOnceWithMode0600) {
  testing::TestDir dir;
  Config c;
  c.data_dir = dir.path() + "/nested/data";  // created as needed
  KeySource source;
  auto key = ResolveApiKey(c, &source);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(source, KeySource::kGenerated);
  EXPECT_EQ(key.value().size(), 64u);
  EXPECT_EQ(key.value().find_first_not_of("0123456789abcdef"), std::string::npos);
  struct stat st;
  ASSERT_EQ(::stat(ApiKeyPath(c.data_dir).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto again = ResolveApiKey(c, &source);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), key.value());
  EXPECT_EQ(source, KeySource::kFile);

  Config other;
  other.data_dir = dir.path() + "/other";
  auto different = ResolveApiKey(other, &source);
  ASSERT_TRUE(different.ok());
  EXPECT_NE(different.value(), key.value());
}

TEST(AuthTest, ResolveApiKeyReadsAndTrimsExistingFile) {
  testing::TestDir dir;
  Config c;
  c.data_dir = dir.path();
  std::ofstream(ApiKeyPath(c.data_dir)) << "  my-key \n";
  KeySource source;
  auto key = ResolveApiKey(c, &source);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key.value(), "my-key");
  EXPECT_EQ(source, KeySource::kFile);
}

}  // namespace
}  // namespace kissvdb::http
