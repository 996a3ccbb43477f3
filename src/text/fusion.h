// Fusion of a hybrid search's two ranked lists (text and vector) into one.
// Pure functions; the rules are in text/types.h (Fusion) and docs/search.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "text/types.h"

namespace kissvdb::text {

// One leg's candidate: best first, so its rank is its index + 1.
struct LegHit {
  std::string id;
  double score = 0;  // the leg's own score, higher is better
};

struct FusedHit {
  std::string id;
  double score = 0;
  std::optional<double> text_score, vector_score;
  std::optional<uint32_t> text_rank, vector_rank;
};

// The k best items of the union of both legs by fused score, ties by id.
std::vector<FusedHit> Fuse(const std::vector<LegHit>& text, const std::vector<LegHit>& vector, const Fusion& fusion,
                           size_t k);

}  // namespace kissvdb::text
