#include "text/fusion.h"

#include <algorithm>
#include <string_view>
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
  // Light entries (ids viewed in the legs) first; strings only for the k kept.
  struct Entry {
    std::string_view id;
    double score = 0;
    int32_t text = -1, vector = -1;  // index in each leg, or -1
  };
  std::vector<Entry> entries;
  entries.reserve(text.size() + vector.size());
  std::unordered_map<std::string_view, size_t> at;
  at.reserve(text.size() + vector.size());
  auto entry_for = [&](std::string_view id) -> Entry& {
    auto [it, fresh] = at.emplace(id, entries.size());
    if (fresh) entries.push_back(Entry{id});
    return entries[it->second];
  };
  const bool rrf = fusion.method == Fusion::Method::kRrf;
  const std::vector<double> text_norm = rrf ? std::vector<double>() : MinMax(text);
  const std::vector<double> vector_norm = rrf ? std::vector<double>() : MinMax(vector);
  for (size_t i = 0; i < text.size(); ++i) {
    Entry& e = entry_for(text[i].id);
    e.text = static_cast<int32_t>(i);
    e.score += rrf ? fusion.text_weight / (fusion.rrf_k + static_cast<double>(i + 1))
                   : (1.0 - fusion.vector_weight) * text_norm[i];
  }
  for (size_t i = 0; i < vector.size(); ++i) {
    Entry& e = entry_for(vector[i].id);
    e.vector = static_cast<int32_t>(i);
    e.score += rrf ? fusion.vector_weight / (fusion.rrf_k + static_cast<double>(i + 1))
                   : fusion.vector_weight * vector_norm[i];
  }
  auto better = [](const Entry& a, const Entry& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.id < b.id;
  };
  const size_t n = std::min(k, entries.size());
  std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(n), entries.end(), better);
  std::vector<FusedHit> hits(n);
  for (size_t i = 0; i < n; ++i) {
    const Entry& e = entries[i];
    FusedHit& h = hits[i];
    h.id = std::string(e.id);
    h.score = e.score;
    if (e.text >= 0) {
      h.text_score = text[static_cast<size_t>(e.text)].score;
      h.text_rank = static_cast<uint32_t>(e.text + 1);
    }
    if (e.vector >= 0) {
      h.vector_score = vector[static_cast<size_t>(e.vector)].score;
      h.vector_rank = static_cast<uint32_t>(e.vector + 1);
    }
  }
  return hits;
}

}  // namespace kissvdb::text
