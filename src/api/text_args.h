// Text-search fields of request bodies (docs/search.md), shared by the
// vector search (text and hybrid) and the document search routes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kissvdb/engine.h"

namespace kissvdb::api {

// "text_syntax": "plain" (default) or "fts5".
Result<text::Syntax> ParseTextSyntax(const Json& q);
// "highlight": true, or {"pre", "post", "tokens"}; absent/false = off.
Result<text::Highlight> ParseHighlight(const Json& q);
// "fusion": {"method": "rrf", "k", "weights": {"text", "vector"}} or
// {"method": "weighted", "vector_weight"}; absent = RRF, k 60, weights 1.
Result<text::Fusion> ParseFusion(const Json& q);

// The text fields of a vector search: `text`, `text_syntax`, `candidates`,
// `fusion`, `highlight` into *out (which already holds the vector leg).
Status ParseHybrid(const Json& q, HybridQuery* out);

// `{"id":…,"meta":…,"score":…` of a search hit, the object left open for
// more fields (keys in nlohmann's order); meta null when not asked for.
void AppendHitHead(std::string_view id, const Json& meta, double score, std::string* out);

// {"hits": [...]} with each hit's text and vector scores and ranks (null
// where a hybrid hit missed a leg) and its snippet when highlighting.
void AppendHybridHits(const HybridQuery& query, const std::vector<HybridHit>& hits, std::string* out);

// A /v1/text definition or listing entry.
Json TextIndexJson(const TextIndexInfo& info);

}  // namespace kissvdb::api
