#include "kv/state_store.h"

#include "kv/version_heads.h"

namespace kissvdb::kv {

namespace {
constexpr size_t kHeader = 16;  // revision + expires_at

std::optional<StateRecordView> DecodeRecord(std::string_view raw) {
  if (raw.size() < kHeader) return std::nullopt;
  StateRecordView r;
  r.revision = GetU64LE(raw.data());
  r.expires_at_ms = GetU64LE(raw.data() + 8);
  r.value_json = raw.substr(kHeader);
  if (!TakeHeadsField(&r.revision, &r.value_json, &r.heads)) return std::nullopt;
  return r;
}

std::string Encode(uint64_t revision, uint64_t expires_at_ms, std::string_view value_json, std::string_view heads) {
  std::string raw;
  raw.reserve(kHeader + 1 + heads.size() + value_json.size());
  PutU64LE(&raw, RevisionField(revision, heads));
  PutU64LE(&raw, expires_at_ms);
  PutHeadsField(&raw, heads);
  raw.append(value_json);
  return raw;
}
}  // namespace

Result<StateStore> StateStore::Open(Txn& txn) {
  auto state = txn.OpenDb("state", MDB_CREATE);
  if (!state.ok()) return state.status();
  auto ttl = txn.OpenDb("state_ttl", MDB_CREATE);
  if (!ttl.ok()) return ttl.status();
  return StateStore(*state, *ttl);
}

std::string StateStore::TtlKey(uint64_t expires_at_ms, std::string_view key) {
  return U64BEThen(expires_at_ms, key);
}

Result<std::optional<StateRecordView>> StateStore::Get(const Txn& txn, std::string_view key) const {
  auto raw = txn.Get(state_, key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<StateRecordView>();
  auto rec = DecodeRecord(**raw);
  if (!rec) return Status::Corruption("state record for key is shorter than its header");
  return rec;
}

Status StateStore::List(const Txn& txn, std::string_view prefix, std::string_view after, uint32_t limit,
                        uint64_t now_ms, std::vector<StateRecord>* out) const {
  auto cursor = Cursor::Open(txn, state_);
  if (!cursor.ok()) return cursor.status();
  std::string_view start = after.empty() || after < prefix ? prefix : after;
  bool valid = start.empty() ? cursor->First() : cursor->Seek(start);
  if (valid && !after.empty() && cursor->key() == after) valid = cursor->Next();
  for (; valid && out->size() < limit; valid = cursor->Next()) {
    std::string_view key = cursor->key();
    if (key.substr(0, prefix.size()) != prefix) break;
    auto rec = DecodeRecord(cursor->value());
    if (!rec) return Status::Corruption("state record shorter than its header");
    if (rec->ExpiredAt(now_ms)) continue;
    out->push_back(StateRecord{std::string(key), rec->revision, rec->expires_at_ms, std::string(rec->value_json)});
  }
  return Status::OK();
}

Status StateStore::Expired(const Txn& txn, uint64_t now_ms, uint32_t limit,
                           std::vector<std::pair<std::string, uint64_t>>* out) const {
  auto cursor = Cursor::Open(txn, ttl_);
  if (!cursor.ok()) return cursor.status();
  for (bool valid = cursor->First(); valid && out->size() < limit; valid = cursor->Next()) {
    std::string_view k = cursor->key();
    if (k.size() < 8) return Status::Corruption("state_ttl key shorter than 8 bytes");
    uint64_t at = GetU64BE(k.data());
    if (at > now_ms) break;
    out->emplace_back(std::string(k.substr(8)), at);
  }
  return Status::OK();
}

Status StateStore::ApplyPut(Txn& txn, std::string_view key, uint64_t revision, uint64_t expires_at_ms,
                            std::string_view value_json) {
  auto old = Get(txn, key);
  if (!old.ok()) return old.status();
  if (old->has_value() && (*old)->expires_at_ms != 0 && (*old)->expires_at_ms != expires_at_ms) {
    auto del = txn.Del(ttl_, TtlKey((*old)->expires_at_ms, key));
    if (!del.ok()) return del.status();
  }
  KISSVDB_RETURN_IF_ERROR(txn.Put(state_, key, Encode(revision, expires_at_ms, value_json, {})));
  if (expires_at_ms != 0) KISSVDB_RETURN_IF_ERROR(txn.Put(ttl_, TtlKey(expires_at_ms, key), ""));
  return Status::OK();
}

Status StateStore::ApplyPut(Txn& txn, Cursor& cursor, std::string_view key, uint64_t revision,
                            uint64_t expires_at_ms, std::string_view value_json) {
  const std::string raw = Encode(revision, expires_at_ms, value_json, {});
  auto inserted = cursor.Insert(key, raw);
  if (!inserted.ok()) return inserted.status();
  if (!*inserted) {
    auto old = DecodeRecord(cursor.value());
    if (!old) return Status::Corruption("state record for key is shorter than its header");
    const uint64_t old_expires = old->expires_at_ms;
    KISSVDB_RETURN_IF_ERROR(cursor.Put(key, raw));  // the cursor is on the key: no search
    if (old_expires != 0 && old_expires != expires_at_ms) {
      auto del = txn.Del(ttl_, TtlKey(old_expires, key));
      if (!del.ok()) return del.status();
    }
  }
  if (expires_at_ms != 0) KISSVDB_RETURN_IF_ERROR(txn.Put(ttl_, TtlKey(expires_at_ms, key), ""));
  return Status::OK();
}

Status StateStore::ApplyDelete(Txn& txn, std::string_view key) {
  auto old = Get(txn, key);
  if (!old.ok()) return old.status();
  if (!old->has_value()) return Status::OK();
  if ((*old)->expires_at_ms != 0) {
    auto del = txn.Del(ttl_, TtlKey((*old)->expires_at_ms, key));
    if (!del.ok()) return del.status();
  }
  auto del = txn.Del(state_, key);
  return del.ok() ? Status::OK() : del.status();
}

std::optional<StateRecordView> StateStore::Decode(std::string_view raw) { return DecodeRecord(raw); }

Result<std::optional<StateRecordView>> StateStore::Find(Cursor& cursor, std::string_view key) const {
  if (!cursor.Find(key)) return std::optional<StateRecordView>();
  auto rec = DecodeRecord(cursor.value());
  if (!rec) return Status::Corruption("state record for key is shorter than its header");
  return rec;
}

Status StateStore::Write(Txn& txn, Cursor& cursor, std::string_view key, uint64_t old_expires_at_ms,
                         uint64_t revision, uint64_t expires_at_ms, std::string_view value_json,
                         std::string_view heads) {
  KISSVDB_RETURN_IF_ERROR(cursor.Put(key, Encode(revision, expires_at_ms, value_json, heads)));
  if (old_expires_at_ms != 0 && old_expires_at_ms != expires_at_ms) {
    auto del = txn.Del(ttl_, TtlKey(old_expires_at_ms, key));
    if (!del.ok()) return del.status();
  }
  if (expires_at_ms != 0 && expires_at_ms != old_expires_at_ms) {
    KISSVDB_RETURN_IF_ERROR(txn.Put(ttl_, TtlKey(expires_at_ms, key), ""));
  }
  return Status::OK();
}

Status StateStore::Erase(Txn& txn, Cursor& cursor, std::string_view key, uint64_t expires_at_ms) {
  KISSVDB_RETURN_IF_ERROR(cursor.Delete());
  if (expires_at_ms != 0) {
    auto del = txn.Del(ttl_, TtlKey(expires_at_ms, key));
    if (!del.ok()) return del.status();
  }
  return Status::OK();
}

}  // namespace kissvdb::kv
