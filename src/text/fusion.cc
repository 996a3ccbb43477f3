#include "text/fusion.h"

#include <algorithm>
#include <unordered_map>

namespace kissvdb::text {

namespace {

// (score - min) / (max - min) for each candidate; 1 when all are equal.
std::vector<double> MinMax(const std::vector<LegHit>& leg) {
  std::vector<double> out(leg.size(), 1.0);
  if (leg.empty()) return out;
  auto [lo, hi] = std::minmax_element(leg.begin(), leg.end(),
                                      [](const LegHit& a, const LegHit& b) { return a.score < b.score; });
  const double span = hi->score - lo->score;
  if (span > 0) {
    for (size_t i = 0; i < leg.size(); ++i) out[i] = (leg[i].score - lo->score) / span;
  }
  return out;
}

}  // namespace

std::vector<FusedHit> Fuse(const std::vector<LegHit>& text, const std::vector<LegHit>& vector, const Fusion& fusion,
                           size_t k) {
  std::vector<FusedHit> hits;
  std::unordered_map<std::string, size_t> at;
  auto hit_for = [&](const std::string& id) -> FusedHit& {
    auto [it, fresh] = at.emplace(id, hits.size());
    if (fresh) {
      hits.emplace_back();
      hits.back().id = id;
    }
    return hits[it->second];
  };
  const bool rrf = fusion.method == Fusion::Method::kRrf;
  const std::vector<double> text_norm = rrf ? std::vector<double>() : MinMax(text);
  const std::vector<double> vector_norm = rrf ? std::vector<double>() : MinMax(vector);
  for (size_t i = 0; i < text.size(); ++i) {
    FusedHit& h = hit_for(text[i].id);
    h.text_score = text[i].score;
    h.text_rank = static_cast<uint32_t>(i + 1);
    h.score += rrf ? fusion.text_weight / (fusion.rrf_k + static_cast<double>(i + 1))
                   : (1.0 - fusion.vector_weight) * text_norm[i];
  }
  for (size_t i = 0; i < vector.size(); ++i) {
    FusedHit& h = hit_for(vector[i].id);
    h.vector_score = vector[i].score;
    h.vector_rank = static_cast<uint32_t>(i + 1);
    h.score += rrf ? fusion.vector_weight / (fusion.rrf_k + static_cast<double>(i + 1))
                   : fusion.vector_weight * vector_norm[i];
  }
  auto better = [](const FusedHit& a, const FusedHit& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.id < b.id;
  };
  if (hits.size() > k) {
    std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(k), hits.end(), better);
    hits.resize(k);
  } else {
    std::sort(hits.begin(), hits.end(), better);
  }
  return hits;
}

}  // namespace kissvdb::text
