#include "engine/materializer.h"

#include "engine/state_record.h"
#include "engine/vector_events.h"
#include "util/digest.h"
#include "util/json_writer.h"

#include <cstdio>
#include <string_view>

namespace kissvdb {

namespace {
constexpr std::string_view kAppliedOffsetKey = "applied_offset";
}  // namespace

Result<std::unique_ptr<Materializer>> Materializer::Open(kv::LmdbEnv& env) {
  auto txn = kv::Txn::Begin(env, /*read_only=*/false);
  if (!txn.ok()) return txn.status();
  auto state = kv::StateStore::Open(*txn);
  if (!state.ok()) return state.status();
  auto meta = txn->OpenDb("meta", MDB_CREATE);
  if (!meta.ok()) return meta.status();
  auto docs = doc::DocStore::Open(*txn);
  if (!docs.ok()) return docs.status();
  auto keys = auth_keys::AuthKeyStore::Open(*txn);
  if (!keys.ok()) return keys.status();
  auto text_defs = text::TextDefs::Open(*txn);
  if (!text_defs.ok()) return text_defs.status();
  auto tx_keys = kv::TxKeyStore::Open(*txn);
  if (!tx_keys.ok()) return tx_keys.status();
  uint64_t applied = 0;
  {
    auto raw = txn->Get(*meta, kAppliedOffsetKey);
    if (!raw.ok()) return raw.status();
    if (raw->has_value() && (*raw)->size() == 8) applied = kv::GetU64LE((*raw)->data());
  }
  auto history = kv::StateHistory::Open(*txn, *state, applied);
  if (!history.ok()) return history.status();
  auto doc_history = doc::DocHistory::Open(*txn, *docs, applied);
  if (!doc_history.ok()) return doc_history.status();
  KISSVDB_RETURN_IF_ERROR(txn->Commit());
  auto m = std::unique_ptr<Materializer>(new Materializer(env, *state, *meta));
  m->docs_ = *docs;
  m->auth_keys_ = *keys;
  m->text_defs_ = *text_defs;
  m->tx_keys_ = *tx_keys;
  m->state_history_ = *history;
  m->doc_history_ = *doc_history;
  return m;
}

Status Materializer::SeedHistory(kv::Txn& txn, uint64_t offset, uint64_t ts_ms, bool keys, bool docs) {
  if (keys) KISSVDB_RETURN_IF_ERROR(state_history_->Seed(txn, offset, ts_ms));
  if (docs) KISSVDB_RETURN_IF_ERROR(doc_history_->Seed(txn, offset, ts_ms));
  return Status::OK();
}

Status Materializer::ApplyToTxn(kv::Txn& txn, const Event& event) {
  if (text::TextDefs::Handles(event.type)) KISSVDB_RETURN_IF_ERROR(text_defs_->ApplyEvent(txn, event));
  if (doc::DocStore::Handles(event.type)) {
    // The documents and their history (every version) change together.
    return history_ ? doc_history_->Apply(txn, event) : docs_->ApplyEvent(txn, event);
  }
  if (auth_keys::AuthKeyStore::Handles(event.type)) return auth_keys_->ApplyEvent(txn, event);
  if (kv::TxKeyStore::Handles(event.type)) return tx_keys_->ApplyEvent(txn, event, tx_window_ms_);
  const Json& d = event.data;
  try {
    // The state and its history (every version, by offset) change together.
    if (event.type == event_type::kStateUpdated) {
      uint64_t expires = d.contains("expires_at_ms") && d["expires_at_ms"].is_number()
                             ? d["expires_at_ms"].get<uint64_t>()
                             : 0;
      const std::string& key = d.at("key").get_ref<const std::string&>();
      const uint64_t revision = d.at("revision").get<uint64_t>();
      return ApplyStatePut(txn, key, event.offset, event.ts_ms, revision, expires, DumpJson(d.at("value")));
    }
    if (event.type == event_type::kStateDeleted) {
      const std::string& key = d.at("key").get_ref<const std::string&>();
      const bool expired = d.contains("reason") && d["reason"] == "ttl";
      if (!history_) return state_.ApplyDelete(txn, key);
      return state_history_->Delete(txn, key, event.offset, event.ts_ms,
                                    expired ? kv::DeleteReason::kTtl : kv::DeleteReason::kExplicit);
    }
  } catch (const Json::exception& e) {
    return Status::Corruption("event " + std::to_string(event.offset) + " (" + event.type +
                              ") has a malformed payload: " + e.what());
  }
  return Status::OK();
}

Status Materializer::ApplyStatePut(kv::Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms,
                                   uint64_t revision, uint64_t expires, std::string_view value) {
  if (history_) return state_history_->Put(txn, key, offset, ts_ms, revision, expires, value);
  return state_.ApplyPut(txn, key, revision, expires, value);
}

Status Materializer::ApplyStatePuts(kv::Txn& txn, StatePutBatch* batch) {
  if (batch->empty()) return Status::OK();
  const std::vector<StatePutBatch::Entry>& puts = batch->Sorted();
  if (history_) {
    KISSVDB_RETURN_IF_ERROR(state_history_->PutSorted(txn, puts));
    batch->Clear();
    return Status::OK();
  }
  auto state = state_.OpenCursor(txn);
  if (!state.ok()) return state.status();
  for (size_t i = 0; i < puts.size(); ++i) {
    const StatePutBatch::Entry& p = puts[i];
    if (i + 1 < puts.size() && puts[i + 1].key == p.key) continue;  // a newer put of the key follows
    KISSVDB_RETURN_IF_ERROR(state_.ApplyPut(txn, *state, p.key, p.revision, p.expires_at_ms, p.value));
  }
  batch->Clear();
  return Status::OK();
}

Status Materializer::ApplyInMemory(const Event& event) {
  if (vectors_ != nullptr && vector_events::IsVectorEvent(event.type)) return vector_events::Apply(*vectors_, event);
  if (auth_keys::AuthKeyStore::Handles(event.type)) auth_index_.Apply(event);
  return Status::OK();
}

Status Materializer::ApplyText(const std::vector<Event>& events) {
  if (text_ == nullptr) return Status::OK();
  return text_->Apply(events, [this](text::Target target, const std::string& collection,
                                     const text::TextIndex::ItemSink& sink) {
    return ForEachTextItem(target, collection, sink);
  });
}

Status Materializer::ForEachTextItem(text::Target target, const std::string& collection,
                                     const text::TextIndex::ItemSink& sink) const {
  if (target == text::Target::kVector) {
    if (vectors_ == nullptr) return Status::OK();
    return vectors_->ForEachItem(collection, sink);
  }
  auto txn = kv::Txn::Begin(env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  return docs_->ForEach(*txn, collection, [&](std::string_view id, const doc::DocRecordView& record) {
    Json doc = Json::parse(record.json, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return Status::Corruption("stored document " + std::string(id) + " is not JSON");
    return sink(id, doc);
  });
}

Status Materializer::LoadAuthIndex() {
  auto txn = kv::Txn::Begin(env_, /*read_only=*/true);
  if (!txn.ok()) return txn.status();
  return auth_index_.Load(*txn, *auth_keys_);
}

Result<uint64_t> Materializer::AppliedOffset(const kv::Txn& txn) const {
  auto raw = txn.Get(meta_, kAppliedOffsetKey);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return uint64_t{0};
  if ((*raw)->size() != 8) return Status::Corruption("meta.applied_offset is not 8 bytes");
  return kv::GetU64LE((*raw)->data());
}

Status Materializer::SetAppliedOffset(kv::Txn& txn, uint64_t offset) {
  std::string v;
  kv::PutU64LE(&v, offset);
  return txn.Put(meta_, kAppliedOffsetKey, v);
}

Result<std::string> Materializer::Digest(const kv::Txn& txn) const {
  Digester d;
  // The unnamed database lists the named ones; walk each of them.
  MDB_dbi main_dbi;
  int rc = mdb_dbi_open(txn.get(), nullptr, 0, &main_dbi);
  if (rc != 0) return kv::LmdbStatus("mdb_dbi_open (main)", rc);
  auto main_db = kv::Cursor::Open(txn, main_dbi);
  if (!main_db.ok()) return main_db.status();
  std::vector<std::string> names;
  for (bool v = main_db->First(); v; v = main_db->Next()) names.emplace_back(main_db->key());
  for (const auto& name : names) {
    MDB_dbi dbi;
    rc = mdb_dbi_open(txn.get(), name.c_str(), 0, &dbi);
    if (rc != 0) return kv::LmdbStatus("mdb_dbi_open " + name, rc);
    d.Add(name);
    auto c = kv::Cursor::Open(txn, dbi);
    if (!c.ok()) return c.status();
    for (bool v = c->First(); v; v = c->Next()) {
      d.Add(c->key());
      d.Add(c->value());
    }
  }
  return d.Hex();
}

}  // namespace kissvdb
