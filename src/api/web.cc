// The dashboard, the API docs page and the OpenAPI spec (see web_routes.h).
//
// The files are served from memory with:
//  - Cache-Control: no-cache plus an ETag (CRC-32C of the bytes), so a
//    browser revalidates each load and gets 304 until the binary changes;
//  - a Content-Security-Policy that allows only this origin's scripts,
//    styles and connections: the pages have no inline script or style, so a
//    value injected into the DOM (a key, a document) can never run.
#include <cstdio>
#include <string>
#include <string_view>

#include "api/web_assets.h"
#include "api/web_routes.h"
#include "util/crc32c.h"

namespace kissvdb::api {

namespace {

constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string_view ContentTypeOf(std::string_view name) {
  auto ends_with = [name](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".json")) return "application/json";
  if (ends_with(".yaml")) return "application/yaml";
  if (ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

const WebAsset* FindAsset(std::string_view name) {
  for (size_t i = 0; i < kWebAssetCount; ++i) {
    if (kWebAssets[i].name == name) return &kWebAssets[i];
  }
  return nullptr;
}

std::string ETagOf(const WebAsset& asset) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "\"%08x\"", crc32c::Value(asset.data, asset.size));
  return buf;
}

void SendAsset(const WebAsset& asset, Request& req, const Responder& res) {
  http::Response r;
  const std::string etag = ETagOf(asset);
  if (req.header("If-None-Match") == etag) {
    r.status = 304;
  } else {
    r.body.assign(asset.bytes());
  }
  r.content_type = std::string(ContentTypeOf(asset.name));
  r.headers = {{"ETag", etag},
               {"Cache-Control", "no-cache"},
               {"Content-Security-Policy", kContentSecurityPolicy},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"X-Frame-Options", "DENY"}};
  res.Send(std::move(r));
}

// A handler that serves one embedded file, by name.
http::Handler Serve(const char* name) {
  return [name](Request& req, const Responder& res) {
    const WebAsset* asset = FindAsset(name);
    if (asset == nullptr) return res.Error(Status::NotFound(std::string(name) + " is not embedded"));
    SendAsset(*asset, req, res);
  };
}

void ServeAsset(Request& req, const Responder& res) {
  const std::string& file = req.param("file");
  // The spec has its own routes; everything else in the table is an asset.
  const WebAsset* asset = file.rfind("openapi.", 0) == 0 ? nullptr : FindAsset(file);
  if (asset == nullptr) return res.Error(Status::NotFound("no asset named " + file.substr(0, 128)));
  SendAsset(*asset, req, res);
}

}  // namespace

void RegisterWebRoutes(http::Router& router) {
  using http::Verb;
  auto info = [](const char* name) { return http::RouteInfo{.is_public = true, .writes = false, .name = name}; };
  router.Add(Verb::get, "/", info("web.dashboard"), Serve("index.html"));
  router.Add(Verb::get, "/docs", info("web.docs"), Serve("docs.html"));
  router.Add(Verb::get, "/openapi.yaml", info("web.openapi_yaml"), Serve("openapi.yaml"));
  router.Add(Verb::get, "/openapi.json", info("web.openapi_json"), Serve("openapi.json"));
  router.Add(Verb::get, "/assets/{file}", info("web.asset"), ServeAsset);
}

}  // namespace kissvdb::api
