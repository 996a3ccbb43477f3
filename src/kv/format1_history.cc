#include "kv/format1_history.h"

#include <lmdb.h>

#include <utility>

namespace kissvdb::kv {

namespace {

constexpr std::string_view kHorizonKey("\xff\xff" "horizon", 9);
constexpr size_t kHeader = 25;  // ts, revision, expires_at, kind
enum Kind : uint8_t { kPut = 0, kDeleted = 1, kExpired = 2, kDropped = 3 };

// escape(key) 00 01: every version key of `key` starts with this.
std::string KeyPrefix(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 10);
  for (char c : key) {
    out.push_back(c);
    if (c == '\0') out.push_back('\xff');
  }
  out.push_back('\0');
  out.push_back('\x01');
  return out;
}

std::string VersionKey(std::string_view key, uint64_t offset) {
  std::string out = KeyPrefix(key);
  PutU64BE(&out, offset);
  return out;
}

uint64_t U64BE(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

Result<Version> Decode(std::string_view version_key, std::string_view raw) {
  if (raw.size() < kHeader || version_key.size() < 8) return Status::Corruption("history: short record");
  Version v;
  v.offset = U64BE(version_key.substr(version_key.size() - 8));
  v.ts_ms = GetU64LE(raw.data());
  v.revision = GetU64LE(raw.data() + 8);
  v.expires_at_ms = GetU64LE(raw.data() + 16);
  const uint8_t kind = static_cast<uint8_t>(raw[24]);
  v.deleted = kind != kPut;
  if (v.deleted) v.reason = kind == kExpired ? "ttl" : kind == kDropped ? "drop" : "explicit";
  v.value_json.assign(raw.substr(kHeader));
  return v;
}

// A version's entry: its key and its value.
std::pair<std::string, std::string> Entry(std::string_view key, uint64_t offset, uint64_t ts_ms, uint64_t revision,
                                          uint64_t expires_at_ms, Kind kind, std::string_view value_json) {
  std::string raw;
  raw.reserve(kHeader + value_json.size());
  PutU64LE(&raw, ts_ms);
  PutU64LE(&raw, revision);
  PutU64LE(&raw, expires_at_ms);
  raw.push_back(static_cast<char>(kind));
  raw.append(value_json);
  return {VersionKey(key, offset), std::move(raw)};
}

Status Put(Txn& txn, MDB_dbi dbi, std::string_view key, uint64_t offset, uint64_t ts_ms, uint64_t revision,
           uint64_t expires_at_ms, Kind kind, std::string_view value_json) {
  auto [k, v] = Entry(key, offset, ts_ms, revision, expires_at_ms, kind, value_json);
  return txn.Put(dbi, k, v);
}

}  // namespace

Result<Format1History> Format1History::Open(Txn& txn, const char* name) {
  auto dbi = txn.OpenDb(name, MDB_CREATE);
  if (!dbi.ok()) return dbi.status();
  auto horizon = txn.Get(*dbi, kHorizonKey);
  if (!horizon.ok()) return horizon.status();
  if (!horizon->has_value()) {
    std::string raw;
    PutU64LE(&raw, 1);
    KISSVDB_RETURN_IF_ERROR(txn.Put(*dbi, kHorizonKey, raw));
  }
  return Format1History(*dbi);
}

Status Format1History::ApplyPut(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, uint64_t revision,
                              uint64_t expires_at_ms, std::string_view value_json) const {
  return Put(txn, dbi_, key, offset, ts_ms, revision, expires_at_ms, kPut, value_json);
}

Status Format1History::ApplyDelete(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms,
                                   DeleteReason reason) const {
  const Kind kind = reason == DeleteReason::kTtl ? kExpired : reason == DeleteReason::kDrop ? kDropped : kDeleted;
  return Put(txn, dbi_, key, offset, ts_ms, 0, 0, kind, "");
}

Result<uint64_t> Format1History::Horizon(const Txn& txn) const {
  auto raw = txn.Get(dbi_, kHorizonKey);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value() || (*raw)->size() != 8) return Status::Corruption("history: no horizon");
  return GetU64LE((*raw)->data());
}

Status Format1History::SetHorizon(Txn& txn, uint64_t horizon) const {
  std::string raw;
  PutU64LE(&raw, horizon);
  return txn.Put(dbi_, kHorizonKey, raw);
}

bool Format1History::KeyOfEntry(std::string_view entry, std::string* key) {
  key->clear();
  for (size_t i = 0; i + 1 < entry.size(); ++i) {
    if (entry[i] != '\0') {
      key->push_back(entry[i]);
    } else if (entry[i + 1] == '\xff') {
      key->push_back('\0');
      ++i;
    } else {
      return entry[i + 1] == '\x01' && entry.size() == i + 2 + 8;
    }
  }
  return false;  // the horizon entry, which sorts after every key
}

Status Format1History::ForEach(const Txn& txn,
                               const std::function<Status(const std::string& key, Version&& v)>& fn) const {
  auto cursor = Cursor::Open(txn, dbi_);
  if (!cursor.ok()) return cursor.status();
  std::string key;
  for (bool valid = cursor->First(); valid && KeyOfEntry(cursor->key(), &key); valid = cursor->Next()) {
    auto v = Decode(cursor->key(), cursor->value());
    if (!v.ok()) return v.status();
    KISSVDB_RETURN_IF_ERROR(fn(key, std::move(*v)));
  }
  return Status::OK();
}

}  // namespace kissvdb::kv
