#include "kv/tx_key_store.h"

#include <vector>

namespace kissvdb::kv {

namespace {

// Keys forgotten per applied event at most: expiry keeps up with any steady
// rate of new keys while one event never does unbounded work.
constexpr int kMaxForgetPerEvent = 8;

std::string TimeKey(uint64_t ts_ms, std::string_view key) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(ts_ms >> (8 * (7 - i)));
  out.append(key);
  return out;
}

uint64_t TimeOf(std::string_view time_key) {
  uint64_t ts = 0;
  for (int i = 0; i < 8; ++i) ts = (ts << 8) | static_cast<unsigned char>(time_key[i]);
  return ts;
}

}  // namespace

Result<TxKeyStore> TxKeyStore::Open(Txn& txn) {
  auto keys = txn.OpenDb("tx_keys", MDB_CREATE);
  if (!keys.ok()) return keys.status();
  auto by_time = txn.OpenDb("tx_keys_by_time", MDB_CREATE);
  if (!by_time.ok()) return by_time.status();
  return TxKeyStore(*keys, *by_time);
}

bool TxKeyStore::Handles(std::string_view event_type) { return event_type == event_type::kTxCommitted; }

Status TxKeyStore::ApplyEvent(Txn& txn, const Event& event, uint64_t window_ms) const {
  std::string key;
  Json record;
  try {
    key = event.data.at("idempotency_key").get<std::string>();
    record = Json{{"ts_ms", event.ts_ms},
                  {"fingerprint", event.data.at("fingerprint").get<std::string>()},
                  {"result", event.data.at("result")}};
  } catch (const Json::exception& e) {
    return Status::Corruption("event " + std::to_string(event.offset) + " (" + event.type +
                              ") has a malformed payload: " + e.what());
  }
  if (key.empty() || key.size() > 511 - 8) {
    return Status::Corruption("event " + std::to_string(event.offset) + ": bad idempotency key");
  }
  // A key seen again (after its window) replaces its old entry.
  auto old = txn.Get(keys_, key);
  if (!old.ok()) return old.status();
  if (old->has_value()) {
    Json j = Json::parse(**old, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("ts_ms") && j["ts_ms"].is_number_unsigned()) {
      auto del = txn.Del(by_time_, TimeKey(j["ts_ms"].get<uint64_t>(), key));
      if (!del.ok()) return del.status();
    }
  }
  KISSVDB_RETURN_IF_ERROR(txn.Put(keys_, key, record.dump()));
  KISSVDB_RETURN_IF_ERROR(txn.Put(by_time_, TimeKey(event.ts_ms, key), ""));

  if (event.ts_ms <= window_ms) return Status::OK();
  const uint64_t cutoff = event.ts_ms - window_ms;
  std::vector<std::string> expired;
  {
    auto cursor = Cursor::Open(txn, by_time_);
    if (!cursor.ok()) return cursor.status();
    for (bool ok = cursor->First(); ok && expired.size() < kMaxForgetPerEvent; ok = cursor->Next()) {
      if (cursor->key().size() < 8 || TimeOf(cursor->key()) >= cutoff) break;
      expired.emplace_back(cursor->key());
    }
  }
  for (const std::string& time_key : expired) {
    auto del = txn.Del(by_time_, time_key);
    if (!del.ok()) return del.status();
    del = txn.Del(keys_, std::string_view(time_key).substr(8));
    if (!del.ok()) return del.status();
  }
  return Status::OK();
}

Result<std::optional<TxKeyStore::Entry>> TxKeyStore::Get(const Txn& txn, std::string_view key, uint64_t now_ms,
                                                         uint64_t window_ms) const {
  auto raw = txn.Get(keys_, key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<Entry>();
  Json j = Json::parse(**raw, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::Corruption("tx_keys: a record is not a JSON object");
  Entry entry;
  try {
    entry.ts_ms = j.at("ts_ms").get<uint64_t>();
    entry.fingerprint = j.at("fingerprint").get<std::string>();
    entry.result = std::move(j.at("result"));
  } catch (const Json::exception& e) {
    return Status::Corruption(std::string("tx_keys: malformed record: ") + e.what());
  }
  if (entry.ts_ms + window_ms < now_ms) return std::optional<Entry>();
  return std::optional<Entry>(std::move(entry));
}

}  // namespace kissvdb::kv
