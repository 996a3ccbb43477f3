#include "text/types.h"

#include <set>

#include "util/json_filter.h"
#include "util/utf8.h"

namespace kissvdb::text {

std::string_view TargetName(Target target) { return target == Target::kVector ? "vector" : "doc"; }

Result<Target> ParseTarget(std::string_view name) {
  if (name == "vector") return Target::kVector;
  if (name == "doc") return Target::kDoc;
  return Status::InvalidArgument("a text index belongs to a \"vector\" or a \"doc\" collection, not \"" +
                                 std::string(name) + "\"");
}

std::string_view TokenizerName(Tokenizer tokenizer) {
  switch (tokenizer) {
    case Tokenizer::kUnicode61: return "unicode61";
    case Tokenizer::kPorter: return "porter";
    case Tokenizer::kTrigram: return "trigram";
  }
  return "unicode61";
}

Result<Tokenizer> ParseTokenizer(std::string_view name) {
  if (name == "unicode61") return Tokenizer::kUnicode61;
  if (name == "porter") return Tokenizer::kPorter;
  if (name == "trigram") return Tokenizer::kTrigram;
  return Status::InvalidArgument("tokenizer must be unicode61, porter or trigram, not \"" + std::string(name) + "\"");
}

Result<Syntax> ParseSyntax(std::string_view name) {
  if (name == "plain") return Syntax::kPlain;
  if (name == "fts5") return Syntax::kFts5;
  return Status::InvalidArgument("text_syntax must be \"plain\" or \"fts5\", not \"" + std::string(name) + "\"");
}

Status ValidateSpec(const TextSpec& spec) {
  if (spec.fields.empty() || spec.fields.size() > kMaxTextFields) {
    return Status::InvalidArgument("a text index names 1.." + std::to_string(kMaxTextFields) + " fields");
  }
  std::set<std::string_view> seen;
  for (const std::string& f : spec.fields) {
    if (f.empty() || f.size() > kMaxFieldPathBytes) {
      return Status::InvalidArgument("a text field is 1.." + std::to_string(kMaxFieldPathBytes) + " bytes");
    }
    if (!utf8::IsValid(f)) return Status::InvalidArgument("text field \"" + f + "\" is not valid UTF-8");
    for (unsigned char c : f) {
      if (c < 0x20 || c == 0x7f) return Status::InvalidArgument("a text field must not hold control characters");
    }
    if (f.front() == '.' || f.back() == '.' || f.find("..") != std::string::npos) {
      return Status::InvalidArgument("text field \"" + f + "\" is not a dotted path");
    }
    if (!seen.insert(f).second) return Status::InvalidArgument("text field \"" + f + "\" is named twice");
  }
  return Status::OK();
}

Json SpecToJson(const TextSpec& spec) {
  return Json{{"fields", spec.fields}, {"tokenizer", std::string(TokenizerName(spec.tokenizer))}};
}

Result<TextSpec> SpecFromJson(const Json& j) {
  if (!j.is_object()) return Status::InvalidArgument("a text index definition must be a JSON object");
  TextSpec spec;
  auto fields = j.find("fields");
  if (fields == j.end() || !fields->is_array()) {
    return Status::InvalidArgument("fields must be an array of field names");
  }
  for (const Json& f : *fields) {
    if (!f.is_string()) return Status::InvalidArgument("fields must be an array of field names");
    spec.fields.push_back(f.get<std::string>());
  }
  auto tok = j.find("tokenizer");
  if (tok != j.end() && !tok->is_null()) {
    if (!tok->is_string()) return Status::InvalidArgument("tokenizer must be a string");
    auto t = ParseTokenizer(tok->get_ref<const std::string&>());
    if (!t.ok()) return t.status();
    spec.tokenizer = *t;
  }
  KISSVDB_RETURN_IF_ERROR(ValidateSpec(spec));
  return spec;
}

std::vector<std::string> ExtractFields(const TextSpec& spec, const Json& object) {
  std::vector<std::string> out(spec.fields.size());
  if (!object.is_object()) return out;
  for (size_t i = 0; i < spec.fields.size(); ++i) {
    const Json* v = JsonFilter::ResolvePath(object, spec.fields[i]);
    if (v == nullptr) continue;
    if (v->is_string()) {
      out[i] = v->get<std::string>();
    } else if (v->is_array()) {
      for (const Json& e : *v) {
        if (!e.is_string()) continue;
        if (!out[i].empty()) out[i].push_back('\n');
        out[i] += e.get_ref<const std::string&>();
      }
    }
  }
  return out;
}

size_t TextBytes(const std::vector<std::string>& fields) {
  size_t n = 0;
  for (const auto& f : fields) n += f.size();
  return n;
}

}  // namespace kissvdb::text
