// The files of web/ and the OpenAPI spec, compiled into the binary by
// web/assets.cmake (web/tools/embed_files.cmake writes the table).
#pragma once

#include <cstddef>
#include <string_view>

namespace kissvdb::api {

struct WebAsset {
  const char* name;  // file name: "index.html", "openapi.yaml"
  const unsigned char* data;
  size_t size;

  std::string_view bytes() const { return {reinterpret_cast<const char*>(data), size}; }
};

// Every embedded file. Defined in the generated web_assets.cc.
extern const WebAsset kWebAssets[];
extern const size_t kWebAssetCount;

}  // namespace kissvdb::api
