#include "text/text_defs.h"

namespace kissvdb::text {

namespace {

std::string Key(Target target, std::string_view collection) {
  std::string k(1, target == Target::kVector ? 'v' : 'd');
  k.append(collection);
  return k;
}

Status Malformed(const Event& event, const std::string& what) {
  return Status::Corruption("event " + std::to_string(event.offset) + " (" + event.type +
                            ") has a malformed payload: " + what);
}

// The target and collection a drop-like event removes the definition of.
std::optional<Target> DroppedBy(std::string_view type) {
  if (type == event_type::kVectorTextIndexDropped || type == event_type::kVectorCollectionDropped) {
    return Target::kVector;
  }
  if (type == event_type::kDocTextIndexDropped || type == event_type::kDocCollectionDropped) return Target::kDoc;
  return std::nullopt;
}

}  // namespace

Result<TextDefs> TextDefs::Open(kv::Txn& txn) {
  auto dbi = txn.OpenDb("text_defs", MDB_CREATE);
  if (!dbi.ok()) return dbi.status();
  return TextDefs(*dbi);
}

bool TextDefs::Handles(std::string_view type) {
  return type == event_type::kVectorCollectionCreated || type == event_type::kVectorTextIndexSet ||
         type == event_type::kDocTextIndexSet || DroppedBy(type).has_value();
}

Result<std::optional<IndexDef>> TextDefs::DefinedBy(const Event& event) {
  const Json& d = event.data;
  const Json* spec_json = nullptr;
  IndexDef def;
  if (event.type == event_type::kVectorCollectionCreated) {
    auto it = d.find("text");
    if (it == d.end() || it->is_null()) return std::optional<IndexDef>();
    spec_json = &*it;
  } else if (event.type == event_type::kVectorTextIndexSet || event.type == event_type::kDocTextIndexSet) {
    spec_json = &d;
    if (event.type == event_type::kDocTextIndexSet) def.target = Target::kDoc;
  } else {
    return std::optional<IndexDef>();
  }
  auto c = d.find("collection");
  if (c == d.end() || !c->is_string()) return Malformed(event, "no collection");
  def.collection = c->get<std::string>();
  auto spec = SpecFromJson(*spec_json);
  if (!spec.ok()) return Malformed(event, spec.status().message());
  def.spec = std::move(spec.value());
  return std::optional<IndexDef>(std::move(def));
}

Status TextDefs::ApplyEvent(kv::Txn& txn, const Event& event) {
  if (auto target = DroppedBy(event.type)) {
    auto c = event.data.find("collection");
    if (c == event.data.end() || !c->is_string()) return Malformed(event, "no collection");
    auto del = txn.Del(dbi_, Key(*target, c->get_ref<const std::string&>()));
    return del.ok() ? Status::OK() : del.status();
  }
  auto def = DefinedBy(event);
  if (!def.ok()) return def.status();
  if (!def->has_value()) return Status::OK();
  const IndexDef& d = **def;
  return txn.Put(dbi_, Key(d.target, d.collection), SpecToJson(d.spec).dump());
}

Result<std::optional<TextSpec>> TextDefs::Get(const kv::Txn& txn, Target target, std::string_view collection) const {
  auto raw = txn.Get(dbi_, Key(target, collection));
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<TextSpec>();
  Json j = Json::parse(**raw, nullptr, /*allow_exceptions=*/false);
  auto spec = SpecFromJson(j);
  if (!spec.ok()) return Status::Corruption("text_defs: " + spec.status().message());
  return std::optional<TextSpec>(std::move(spec.value()));
}

Status TextDefs::List(const kv::Txn& txn, std::vector<IndexDef>* out) const {
  auto c = kv::Cursor::Open(txn, dbi_);
  if (!c.ok()) return c.status();
  std::vector<IndexDef> docs;
  for (bool v = c->First(); v; v = c->Next()) {
    std::string_view key = c->key();
    if (key.empty() || (key[0] != 'v' && key[0] != 'd')) return Status::Corruption("text_defs: bad key");
    Json j = Json::parse(c->value(), nullptr, /*allow_exceptions=*/false);
    auto spec = SpecFromJson(j);
    if (!spec.ok()) return Status::Corruption("text_defs: " + spec.status().message());
    IndexDef def{key[0] == 'v' ? Target::kVector : Target::kDoc, std::string(key.substr(1)), std::move(*spec)};
    (def.target == Target::kVector ? *out : docs).push_back(std::move(def));
  }
  for (auto& d : docs) out->push_back(std::move(d));
  return Status::OK();
}

Json SetEventData(const std::string& collection, const TextSpec& spec) {
  Json j = SpecToJson(spec);
  j["collection"] = collection;
  return j;
}

}  // namespace kissvdb::text
