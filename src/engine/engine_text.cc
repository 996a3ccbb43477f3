// Engine: text search. Definitions go through the commit pipeline like any
// write (engine/text_ops.h); the index itself (src/text/) is applied after
// each durable group and caught up or rebuilt at boot. Searches read the
// text index and the vector or document store straight away.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "engine/doc_ops.h"
#include "engine/engine_impl.h"
#include "engine/text_ops.h"
#include "engine/vector_ops.h"
#include "text/fusion.h"
#include "text/query.h"
#include "util/json_filter.h"

namespace kissvdb {

namespace {

constexpr size_t kCatchUpChunk = 4096;  // events per text index transaction at boot

bool SameDefinitions(const std::vector<text::IndexDef>& a, const std::vector<text::IndexDef>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].target != b[i].target || a[i].collection != b[i].collection ||
        text::SpecToJson(a[i].spec) != text::SpecToJson(b[i].spec)) {
      return false;
    }
  }
  return true;
}

std::vector<text::IndexDef> Sorted(std::vector<text::IndexDef> defs) {
  std::sort(defs.begin(), defs.end(), [](const text::IndexDef& x, const text::IndexDef& y) {
    return std::tie(x.target, x.collection) < std::tie(y.target, y.collection);
  });
  return defs;
}

Status CheckCollection(text::Target target, const std::string& collection, const Limits& limits) {
  return target == text::Target::kVector ? vector_ops::ValidateCollectionName(collection, limits)
                                         : doc_ops::ValidateCollection(collection, limits);
}

Status NoTextIndex(text::Target target, const std::string& collection) {
  return Status::NotFound(std::string(text::TargetName(target)) + " collection \"" + collection +
                                 "\" has no text index (PUT /v1/text/" + std::string(text::TargetName(target)) +
                                 "/{collection} defines one)");
}

}  // namespace

Status EngineImpl::OpenText() {
  const std::string path = (std::filesystem::path(config_.data_dir) / "text.sqlite").string();
  auto opened = text::TextIndex::Open(path);
  if (!opened.ok()) return opened.status();
  text_ = std::move(opened.value());
  materializer_->set_text(text_.get());

  std::vector<text::IndexDef> defs;
  {
    auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
    if (!txn.ok()) return txn.status();
    KISSVDB_RETURN_IF_ERROR(materializer_->text_defs().List(*txn, &defs));
  }
  defs = Sorted(std::move(defs));
  const uint64_t last = log_->next_offset() - 1;
  const uint64_t applied = text_->applied_offset();
  std::string why;
  if (text_->fresh()) {
    why = "it is new";
  } else if (applied > last) {
    why = "it is at offset " + std::to_string(applied) + ", past the log's end " + std::to_string(last);
  } else if (applied < last && applied + 1 < log_->first_offset()) {
    why = "it is at offset " + std::to_string(applied) + " and the log starts at " +
          std::to_string(log_->first_offset());
  } else if (applied < last) {
    auto reader = log_->NewReader(applied + 1, last);
    std::vector<Event> chunk;
    Event ev;
    Status st;
    while (st.ok() && reader->Next(&ev)) {
      chunk.push_back(std::move(ev));
      if (chunk.size() == kCatchUpChunk) {
        st = materializer_->ApplyText(chunk);
        chunk.clear();
      }
    }
    if (st.ok()) st = reader->status();
    if (st.ok()) st = materializer_->ApplyText(chunk);
    if (st.ok() && text_->applied_offset() != last) st = Status::Corruption("the log ended early");
    if (!st.ok()) why = "catching up from offset " + std::to_string(applied) + " failed: " + st.ToString();
  }
  if (why.empty() && !SameDefinitions(Sorted(text_->Definitions()), defs)) {
    why = "its definitions differ from the stores'";
  }
  if (why.empty()) return Status::OK();
  if (!text_->fresh() || !defs.empty()) {
    spdlog::warn("text index: rebuilding {} index(es) from the stores at offset {} ({})", defs.size(), last, why);
  }
  return text_->Rebuild(defs, [this](text::Target target, const std::string& collection,
                                     const text::TextIndex::ItemSink& sink) {
    return materializer_->ForEachTextItem(target, collection, sink);
  }, last);
}

void EngineImpl::SetTextIndex(text::Target target, std::string collection, text::TextSpec spec,
                              Callback<TextIndexInfo> done) {
  Status st = CheckCollection(target, collection, config_.limits);
  if (st.ok()) st = text::ValidateSpec(spec);
  if (!st.ok()) return done(st);
  auto shared = std::make_shared<std::pair<std::string, text::TextSpec>>(std::move(collection), std::move(spec));
  committer_->Submit(WriteRequest{
      [target, shared](WriteContext& ctx) { return text_ops::Set(ctx, target, shared->first, shared->second); },
      [this, target, shared, done = std::move(done)](Status st) {
        if (!st.ok()) return done(st);
        // The group is applied to the text index before completions run.
        done(GetTextIndex(target, shared->first));
      }});
}

void EngineImpl::DropTextIndex(text::Target target, std::string collection, Callback<bool> done) {
  Status st = CheckCollection(target, collection, config_.limits);
  if (!st.ok()) return done(st);
  auto dropped = std::make_shared<bool>(false);
  committer_->Submit(WriteRequest{
      [target, collection = std::move(collection), dropped](WriteContext& ctx) {
        return text_ops::Drop(ctx, target, collection, dropped.get());
      },
      [dropped, done = std::move(done)](Status st) {
        if (st.ok()) {
          done(*dropped);
        } else {
          done(st);
        }
      }});
}

Result<std::vector<TextIndexInfo>> EngineImpl::ListTextIndexes() const {
  auto list = text_->List();
  if (!list.ok()) return list.status();
  std::vector<TextIndexInfo> out;
  for (auto& i : *list) out.push_back(TextIndexInfo{i.def.target, std::move(i.def.collection), std::move(i.def.spec), i.items});
  return out;
}

Result<TextIndexInfo> EngineImpl::GetTextIndex(text::Target target, const std::string& collection) const {
  auto list = ListTextIndexes();
  if (!list.ok()) return list.status();
  for (auto& i : *list) {
    if (i.target == target && i.collection == collection) return std::move(i);
  }
  return Status::NotFound(std::string(text::TargetName(target)) + " collection \"" + collection +
                          "\" has no text index");
}

Result<text::Query> EngineImpl::TextMatch(const std::string& text, text::Syntax syntax,
                                          text::Tokenizer tokenizer) const {
  if (text.size() > config_.limits.max_text_query_bytes) {
    return Status::InvalidArgument("text is " + std::to_string(text.size()) + " bytes; the limit is " +
                                   std::to_string(config_.limits.max_text_query_bytes) +
                                   " (limits.max_text_query_bytes)");
  }
  return text::ParseQuery(text, syntax, tokenizer);
}

Result<std::vector<HybridHit>> EngineImpl::SearchHybrid(const HybridQuery& q) const {
  auto info = vectors_->Info(q.collection);
  if (!info) return Status::NotFound("vector collection \"" + q.collection + "\" not found");
  const bool has_vector = !q.vector.empty();
  if (!has_vector && !q.text) return Status::InvalidArgument("a search needs a vector, a text, or both");
  if (q.k == 0 || q.k > config_.limits.max_k) {
    return Status::InvalidArgument("k must be 1.." + std::to_string(config_.limits.max_k));
  }
  const bool hybrid = has_vector && q.text;
  uint32_t candidates = q.candidates != 0 ? q.candidates : std::max<uint32_t>(4 * q.k, 50);
  if (q.candidates != 0 && (q.candidates < q.k || q.candidates > config_.limits.max_text_candidates)) {
    return Status::InvalidArgument("candidates must be k.." + std::to_string(config_.limits.max_text_candidates));
  }
  candidates = std::min(candidates, config_.limits.max_text_candidates);
  const uint32_t leg = hybrid ? std::max(candidates, q.k) : q.k;
  const auto& f = q.fusion;
  if (!(f.rrf_k > 0) || !(f.text_weight >= 0) || !(f.vector_weight >= 0) || !std::isfinite(f.rrf_k) ||
      !std::isfinite(f.text_weight) || !std::isfinite(f.vector_weight) ||
      (f.method == text::Fusion::Method::kWeighted && f.vector_weight > 1)) {
    return Status::InvalidArgument("fusion: k must be > 0, weights finite and >= 0, vector_weight <= 1 (weighted)");
  }

  std::vector<text::LegHit> text_leg, vector_leg;
  std::vector<text::TextHit> text_hits;
  text::Query match;
  if (q.text) {
    auto spec = text_->Spec(text::Target::kVector, q.collection);
    if (!spec) return NoTextIndex(text::Target::kVector, q.collection);
    auto m = TextMatch(*q.text, q.syntax, spec->tokenizer);
    if (!m.ok()) return m.status();
    match = std::move(m.value());
    // Every candidate must still be a live point and pass the filter. A
    // commit group changes the vector store first and its text index after
    // (committer.cc): in between, the index may hold an id the store has
    // deleted. With no filter, the hits are checked afterwards, all at once,
    // unless no group was in between during the search; a hit that is no
    // longer live (rare) means searching again, checking each.
    const uint64_t applying = committer_ ? committer_->memory_applying_offset() : 0;
    const bool settled = committer_ && committer_->memory_applied_offset() == applying;
    auto accept = [&](std::string_view id) { return vectors_->Accepts(q.collection, id, q.filter, nullptr); };
    auto found = text_->Search(text::Target::kVector, q.collection, match, leg,
                               q.filter != nullptr ? std::function<bool(std::string_view)>(accept) : nullptr,
                               q.highlight);
    const bool still_settled = settled && committer_->memory_applying_offset() == applying;
    if (found.ok() && q.filter == nullptr && !still_settled) {
      std::vector<std::string_view> ids;
      for (const auto& h : *found) ids.push_back(h.id);
      const std::vector<bool> live = vectors_->Live(q.collection, ids);
      if (std::find(live.begin(), live.end(), false) != live.end()) {
        found = text_->Search(text::Target::kVector, q.collection, match, leg, accept, q.highlight);
      }
    }
    if (!found.ok()) return found.status();
    text_hits = std::move(found.value());
    for (const auto& h : text_hits) text_leg.push_back(text::LegHit{h.id, h.score});
  }
  if (has_vector) {
    vector::SearchRequest req;
    req.vector = q.vector;
    req.k = q.k;
    req.ef = q.ef;
    req.exact = q.exact;
    req.filter = q.filter;
    KISSVDB_RETURN_IF_ERROR(vector::ValidateSearch(req, info->spec.dim, info->spec.metric, vector_limits_));
    req.k = leg;
    auto found = vectors_->Search(q.collection, req);
    if (!found.ok()) return found.status();
    for (const auto& h : *found) vector_leg.push_back(text::LegHit{h.id, h.score});
  }

  std::vector<text::FusedHit> fused = text::Fuse(text_leg, vector_leg, q.fusion, q.k);
  if (!hybrid && q.text) {
    for (auto& h : fused) h.score = *h.text_score;  // text only: the BM25 score itself
  }
  std::unordered_map<std::string_view, const text::TextHit*> by_id;
  for (const auto& h : text_hits) by_id.emplace(h.id, &h);
  std::vector<HybridHit> out;
  out.reserve(fused.size());
  for (auto& h : fused) {
    HybridHit hit;
    hit.id = std::move(h.id);
    hit.score = h.score;
    hit.text_score = h.text_score;
    hit.text_rank = h.text_rank;
    hit.vector_score = h.vector_score;
    hit.vector_rank = h.vector_rank;
    if (q.include_meta && !vectors_->Accepts(q.collection, hit.id, nullptr, &hit.meta)) hit.meta = Json();
    if (q.highlight.enabled && q.text) {
      auto it = by_id.find(hit.id);
      if (it != by_id.end()) {
        hit.snippet = it->second->snippet;
      } else {
        auto snippet = text_->Snippet(text::Target::kVector, q.collection, match.match, hit.id, q.highlight);
        if (!snippet.ok()) return snippet.status();
        hit.snippet = std::move(snippet.value());
      }
    }
    out.push_back(std::move(hit));
  }
  return out;
}

Result<std::vector<DocHit>> EngineImpl::SearchDocs(const DocTextQuery& q) const {
  KISSVDB_RETURN_IF_ERROR(doc_ops::ValidateCollection(q.collection, config_.limits));
  if (q.limit == 0 || q.limit > config_.limits.max_doc_find) {
    return Status::InvalidArgument("limit must be 1.." + std::to_string(config_.limits.max_doc_find));
  }
  if (!q.filter.is_null() && !q.filter.is_object()) return Status::InvalidArgument("filter must be a JSON object");
  auto filter = JsonFilter::Compile(q.filter);
  if (!filter.ok()) return filter.status();
  auto spec = text_->Spec(text::Target::kDoc, q.collection);
  if (!spec) return NoTextIndex(text::Target::kDoc, q.collection);
  auto match = TextMatch(q.text, q.syntax, spec->tokenizer);
  if (!match.ok()) return match.status();
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  const bool filtered = !filter->MatchesAll();
  std::unordered_map<std::string, DocItem> accepted;
  Status read_error;
  auto accept = [&](std::string_view id) {
    auto rec = materializer_->docs().Get(*txn, q.collection, id);
    if (!rec.ok()) {
      read_error = rec.status();
      return false;
    }
    if (!rec->has_value()) return false;  // deleted after the text index saw it
    if (filtered) {
      Json doc = Json::parse((*rec)->json, nullptr, /*allow_exceptions=*/false);
      if (!filter->Matches(doc)) return false;
    }
    accepted.emplace(std::string(id), DocItem{std::string(id), (*rec)->revision, std::string((*rec)->json), 0});
    return true;
  };
  // Without a filter, only the hits' documents are read, after the search;
  // a hit whose document is gone (the index a group apart) means searching
  // again, reading each candidate.
  auto hits = text_->Search(text::Target::kDoc, q.collection, *match, q.limit,
                            filtered ? std::function<bool(std::string_view)>(accept) : nullptr, q.highlight);
  if (hits.ok() && !filtered) {
    bool all = true;
    for (const auto& h : *hits) all = all && accept(h.id);
    if (!all) {
      accepted.clear();
      hits = text_->Search(text::Target::kDoc, q.collection, *match, q.limit, accept, q.highlight);
    }
  }
  if (!hits.ok()) return hits.status();
  KISSVDB_RETURN_IF_ERROR(read_error);
  std::vector<DocHit> out;
  out.reserve(hits->size());
  for (auto& h : *hits) out.push_back(DocHit{std::move(accepted.at(h.id)), h.score, std::move(h.snippet)});
  return out;
}

}  // namespace kissvdb
