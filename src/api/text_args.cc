#include "api/text_args.h"

#include <cmath>

#include "api/json_args.h"
#include "util/json_writer.h"

namespace kissvdb::api {

namespace {

Result<std::optional<double>> OptionalNumber(const Json& obj, const char* field, const char* where) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<double>();
  if (!it->is_number() || !std::isfinite(it->get<double>())) {
    return Status::InvalidArgument(std::string(where) + field + " must be a number");
  }
  return std::optional<double>(it->get<double>());
}

}  // namespace

Result<text::Syntax> ParseTextSyntax(const Json& q) {
  auto it = q.find("text_syntax");
  if (it == q.end() || it->is_null()) return text::Syntax::kPlain;
  if (!it->is_string()) return Status::InvalidArgument("text_syntax must be \"plain\" or \"fts5\"");
  return text::ParseSyntax(it->get_ref<const std::string&>());
}

Result<text::Highlight> ParseHighlight(const Json& q) {
  text::Highlight h;
  auto it = q.find("highlight");
  if (it == q.end() || it->is_null()) return h;
  if (it->is_boolean()) {
    h.enabled = it->get<bool>();
    return h;
  }
  if (!it->is_object()) return Status::InvalidArgument("highlight must be a boolean or an object");
  h.enabled = true;
  for (auto [field, target] : {std::pair{"pre", &h.pre}, std::pair{"post", &h.post}}) {
    auto v = it->find(field);
    if (v == it->end() || v->is_null()) continue;
    if (!v->is_string() || v->get_ref<const std::string&>().size() > 64) {
      return Status::InvalidArgument(std::string("highlight.") + field + " must be a string of at most 64 bytes");
    }
    *target = v->get<std::string>();
  }
  auto tokens = OptionalU64(*it, "tokens");
  if (!tokens.ok()) return tokens.status();
  if (*tokens) {
    if (**tokens < 1 || **tokens > 64) return Status::InvalidArgument("highlight.tokens must be 1..64");
    h.tokens = static_cast<uint32_t>(**tokens);
  }
  return h;
}

Result<text::Fusion> ParseFusion(const Json& q) {
  text::Fusion f;
  auto it = q.find("fusion");
  if (it == q.end() || it->is_null()) return f;
  if (!it->is_object()) return Status::InvalidArgument("fusion must be an object");
  std::string method = "rrf";
  if (auto m = it->find("method"); m != it->end() && !m->is_null()) {
    if (!m->is_string()) return Status::InvalidArgument("fusion.method must be \"rrf\" or \"weighted\"");
    method = m->get<std::string>();
  }
  if (method == "rrf") {
    auto k = OptionalNumber(*it, "k", "fusion.");
    if (!k.ok()) return k.status();
    if (*k) f.rrf_k = **k;
    if (auto w = it->find("weights"); w != it->end() && !w->is_null()) {
      if (!w->is_object()) return Status::InvalidArgument("fusion.weights must be {\"text\": n, \"vector\": n}");
      for (auto [field, target] : {std::pair{"text", &f.text_weight}, std::pair{"vector", &f.vector_weight}}) {
        auto v = OptionalNumber(*w, field, "fusion.weights.");
        if (!v.ok()) return v.status();
        if (*v) *target = **v;
      }
    }
  } else if (method == "weighted") {
    f.method = text::Fusion::Method::kWeighted;
    f.vector_weight = 0.5;
    auto vw = OptionalNumber(*it, "vector_weight", "fusion.");
    if (!vw.ok()) return vw.status();
    if (*vw) f.vector_weight = **vw;
  } else {
    return Status::InvalidArgument("fusion.method must be \"rrf\" or \"weighted\"");
  }
  return f;
}

Status ParseHybrid(const Json& q, HybridQuery* out) {
  auto t = q.find("text");
  if (t != q.end() && !t->is_null()) {
    if (!t->is_string()) return Status::InvalidArgument("text must be a string");
    out->text = t->get<std::string>();
  }
  auto syntax = ParseTextSyntax(q);
  if (!syntax.ok()) return syntax.status();
  out->syntax = *syntax;
  auto candidates = OptionalU64(q, "candidates");
  if (!candidates.ok()) return candidates.status();
  out->candidates = static_cast<uint32_t>(std::min<uint64_t>(candidates->value_or(0), 1u << 30));
  if (*candidates && out->candidates == 0) return Status::InvalidArgument("candidates must be at least k");
  auto fusion = ParseFusion(q);
  if (!fusion.ok()) return fusion.status();
  out->fusion = *fusion;
  auto highlight = ParseHighlight(q);
  if (!highlight.ok()) return highlight.status();
  out->highlight = std::move(highlight.value());
  return Status::OK();
}

void AppendHitHead(std::string_view id, const Json& meta, double score, std::string* out) {
  out->append(R"({"id":)");
  AppendJsonString(id, out);
  out->append(R"(,"meta":)");
  out->append(meta.is_null() ? "null" : meta.dump(-1, ' ', false, Json::error_handler_t::replace));
  out->append(R"(,"score":)");
  AppendJsonNumber(score, out);
}

void AppendHybridHits(const HybridQuery& query, const std::vector<HybridHit>& hits, std::string* out) {
  const bool hybrid = !query.vector.empty() && query.text.has_value();
  // Written directly, keys in the order nlohmann's objects print them.
  auto number = [&](const char* key, const std::optional<double>& v) {
    out->append(key);
    if (v) {
      AppendJsonNumber(*v, out);
    } else {
      out->append("null");
    }
  };
  auto rank = [&](const char* key, const std::optional<uint32_t>& v) {
    out->append(key);
    out->append(v ? std::to_string(*v) : "null");
  };
  out->append(R"({"hits":[)");
  for (size_t i = 0; i < hits.size(); ++i) {
    const HybridHit& h = hits[i];
    if (i) out->push_back(',');
    AppendHitHead(h.id, h.meta, h.score, out);
    if (query.highlight.enabled) {
      out->append(R"(,"snippet":)");
      out->append(h.snippet ? Json(*h.snippet).dump(-1, ' ', false, Json::error_handler_t::replace) : "null");
    }
    rank(R"(,"text_rank":)", h.text_rank);
    number(R"(,"text_score":)", h.text_score);
    if (hybrid) {
      rank(R"(,"vector_rank":)", h.vector_rank);
      number(R"(,"vector_score":)", h.vector_score);
    }
    out->push_back('}');
  }
  out->append("]}");
}

Json TextIndexJson(const TextIndexInfo& info) {
  Json j = text::SpecToJson(info.spec);
  j["target"] = std::string(text::TargetName(info.target));
  j["collection"] = info.collection;
  j["items"] = info.items;
  return j;
}

}  // namespace kissvdb::api
