// The files compiled into the binary for the dashboard and /docs: every file
// a page refers to is embedded, the pages hold nothing the
// Content-Security-Policy would block, and the spec is the one in docs/.
#include "api/web_assets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "kissvdb/event.h"  // Json

namespace kissvdb::api {
namespace {

std::string Asset(const std::string& name) {
  for (size_t i = 0; i < kWebAssetCount; ++i) {
    if (name == kWebAssets[i].name) return std::string(kWebAssets[i].bytes());
  }
  ADD_FAILURE() << name << " is not embedded";
  return "";
}

std::set<std::string> Names() {
  std::set<std::string> names;
  for (size_t i = 0; i < kWebAssetCount; ++i) names.insert(kWebAssets[i].name);
  return names;
}

TEST(WebAssets, EveryReferencedFileIsEmbedded) {
  const std::set<std::string> names = Names();
  const std::regex asset_ref(R"re((?:href|src)="/assets/([^"]+)")re");
  const std::regex import_ref(R"re(from '\./([^']+)')re");
  for (const std::string& name : names) {
    const std::string text = Asset(name);
    const bool html = name.ends_with(".html");
    const std::regex& ref = html ? asset_ref : import_ref;
    if (!html && !name.ends_with(".js")) continue;
    for (std::sregex_iterator it(text.begin(), text.end(), ref), end; it != end; ++it) {
      EXPECT_TRUE(names.count((*it)[1])) << name << " refers to " << (*it)[1] << ", which is not embedded";
    }
  }
}

// script-src 'self' and style-src 'self' refuse inline code: a page that had
// any would break only in the browser, so catch it here.
TEST(WebAssets, PagesHaveNoInlineScriptOrStyle) {
  for (const char* page : {"index.html", "docs.html"}) {
    const std::string html = Asset(page);
    EXPECT_FALSE(std::regex_search(html, std::regex(R"(<script(?![^>]*\bsrc=)[^>]*>)"))) << page;
    EXPECT_EQ(html.find("<style"), std::string::npos) << page;
    EXPECT_FALSE(std::regex_search(html, std::regex(R"(\s(style|on[a-z]+)=)"))) << page;
    EXPECT_EQ(html.find("http://"), std::string::npos) << page << ": no external resources (offline)";
    EXPECT_EQ(html.find("https://"), std::string::npos) << page << ": no external resources (offline)";
  }
}

TEST(WebAssets, SpecIsTheOneInDocs) {
  std::ifstream in(std::string(KISSVDB_SOURCE_DIR) + "/docs/openapi.yaml", std::ios::binary);
  std::stringstream yaml;
  yaml << in.rdbuf();
  EXPECT_EQ(Asset("openapi.yaml"), yaml.str());

  const Json spec = Json::parse(Asset("openapi.json"));
  EXPECT_EQ(spec.at("openapi").get<std::string>().substr(0, 2), "3.");
  for (const char* path : {"/", "/docs", "/openapi.yaml", "/openapi.json", "/v1/state/{key}"}) {
    EXPECT_TRUE(spec.at("paths").contains(path)) << path;
  }
}

}  // namespace
}  // namespace kissvdb::api
