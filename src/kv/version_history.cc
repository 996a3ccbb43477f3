#include "kv/version_history.h"

#include <lmdb.h>

#include <algorithm>
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

Result<VersionHistory> VersionHistory::Open(Txn& txn, const char* name, uint64_t applied_offset) {
  auto dbi = txn.OpenDb(name, MDB_CREATE);
  if (!dbi.ok()) return dbi.status();
  auto horizon = txn.Get(*dbi, kHorizonKey);
  if (!horizon.ok()) return horizon.status();
  if (!horizon->has_value()) {
    // Created in a directory that already applied events: it holds no
    // version of the present yet, so it starts as "nothing kept" until the
    // engine seeds it (EngineImpl::OpenHistory).
    std::string raw;
    PutU64LE(&raw, applied_offset == 0 ? 1 : kOff);
    KISSVDB_RETURN_IF_ERROR(txn.Put(*dbi, kHorizonKey, raw));
  }
  return VersionHistory(*dbi);
}

Status VersionHistory::ApplyPut(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, uint64_t revision,
                              uint64_t expires_at_ms, std::string_view value_json) const {
  return Put(txn, dbi_, key, offset, ts_ms, revision, expires_at_ms, kPut, value_json);
}

Status VersionHistory::ApplyPut(Cursor& cursor, std::string_view key, uint64_t offset, uint64_t ts_ms,
                                uint64_t revision, uint64_t expires_at_ms, std::string_view value_json) const {
  auto [k, v] = Entry(key, offset, ts_ms, revision, expires_at_ms, kPut, value_json);
  return cursor.Put(k, v);
}

Status VersionHistory::ApplyDelete(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms,
                                   DeleteReason reason) const {
  const Kind kind = reason == DeleteReason::kTtl ? kExpired : reason == DeleteReason::kDrop ? kDropped : kDeleted;
  return Put(txn, dbi_, key, offset, ts_ms, 0, 0, kind, "");
}

Result<uint64_t> VersionHistory::Horizon(const Txn& txn) const {
  auto raw = txn.Get(dbi_, kHorizonKey);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value() || (*raw)->size() != 8) return Status::Corruption("history: no horizon");
  return GetU64LE((*raw)->data());
}

Status VersionHistory::Clear(Txn& txn) const {
  int rc = mdb_drop(txn.get(), dbi_, 0);
  if (rc != 0) return LmdbStatus("mdb_drop", rc);
  return Status::OK();
}

Status VersionHistory::SetHorizon(Txn& txn, uint64_t horizon) const {
  std::string raw;
  PutU64LE(&raw, horizon);
  return txn.Put(dbi_, kHorizonKey, raw);
}

Status VersionHistory::CollectPrunable(const Txn& txn, uint64_t horizon, uint32_t max_visits, std::string* from,
                                       std::vector<std::string>* doomed) const {
  auto cursor = Cursor::Open(txn, dbi_);
  if (!cursor.ok()) return cursor.status();
  std::string key, entry_key;
  std::string pending;  // the newest version before the horizon seen so far, of `key`
  bool pending_put = false;
  auto settle = [&] {   // `key` ends: its newest old version goes unless it is a put
    if (!pending.empty() && (!pending_put || horizon == kOff)) doomed->push_back(pending);
    pending.clear();
  };
  uint32_t visits = 0;
  bool valid = from->empty() ? cursor->First() : cursor->Seek(*from);
  from->clear();
  for (; valid; valid = cursor->Next()) {
    const std::string_view entry = cursor->key();
    if (!KeyOfEntry(entry, &entry_key)) break;  // the horizon entry sorts last
    if (entry_key != key) {
      settle();
      if (visits >= max_visits) {  // stop at a key boundary
        *from = KeyPrefix(entry_key);
        return Status::OK();
      }
      key = entry_key;
    }
    ++visits;
    if (U64BE(entry.substr(entry.size() - 8)) >= horizon) continue;
    if (!pending.empty()) doomed->push_back(pending);  // superseded by a newer version before the horizon
    pending.assign(entry);
    const std::string_view raw = cursor->value();
    pending_put = raw.size() >= kHeader && static_cast<uint8_t>(raw[24]) == kPut;
  }
  settle();
  return Status::OK();
}

Status VersionHistory::Prune(Txn& txn, uint64_t horizon, const std::vector<std::string>& doomed) const {
  KISSVDB_RETURN_IF_ERROR(SetHorizon(txn, horizon));
  for (const std::string& k : doomed) {
    auto gone = txn.Del(dbi_, k);
    if (!gone.ok()) return gone.status();
  }
  return Status::OK();
}

Result<VersionHistory::Space> VersionHistory::Usage(const Txn& txn) const {
  MDB_stat st;
  int rc = mdb_stat(txn.get(), dbi_, &st);
  if (rc != 0) return LmdbStatus("mdb_stat", rc);
  Space space;
  space.versions = st.ms_entries > 0 ? st.ms_entries - 1 : 0;  // less the horizon entry
  space.bytes = (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) * uint64_t{st.ms_psize};
  return space;
}

Result<std::optional<Version>> VersionHistory::At(const Txn& txn, std::string_view key, uint64_t at) const {
  const std::string prefix = KeyPrefix(key);
  auto cursor = Cursor::Open(txn, dbi_);
  if (!cursor.ok()) return cursor.status();
  // The first version after `at` (or anything after the key), then one back.
  const bool found = at == UINT64_MAX ? false : cursor->Seek(VersionKey(key, at + 1));
  const bool valid = found ? cursor->Prev() : cursor->Last();
  if (!valid || cursor->key().size() != prefix.size() + 8 || cursor->key().substr(0, prefix.size()) != prefix) {
    return std::optional<Version>();
  }
  auto v = Decode(cursor->key(), cursor->value());
  if (!v.ok()) return v.status();
  return std::optional<Version>(std::move(*v));
}

std::string VersionHistory::EscapedStart(std::string_view prefix) {
  std::string out = KeyPrefix(prefix);
  out.resize(out.size() - 2);  // without the 00 01 that ends a whole key
  return out;
}

std::string VersionHistory::AfterAllVersions(std::string_view key) {
  std::string out = KeyPrefix(key);
  out.back() = '\x02';  // escape(key) 00 02: past every version of `key`, before any longer key
  return out;
}

bool VersionHistory::KeyOfEntry(std::string_view entry, std::string* key) {
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

Status VersionHistory::NewestAt(Cursor& cursor, std::string_view key, uint64_t at,
                              std::optional<Version>* out) const {
  const std::string prefix = KeyPrefix(key);
  const bool found = cursor.Seek(VersionKey(key, at + 1));
  const bool valid = found ? cursor.Prev() : cursor.Last();
  if (!valid || cursor.key().size() != prefix.size() + 8 || cursor.key().substr(0, prefix.size()) != prefix) {
    return Status::OK();
  }
  auto v = Decode(cursor.key(), cursor.value());
  if (!v.ok()) return v.status();
  *out = std::move(*v);
  return Status::OK();
}

Status VersionHistory::Versions(const Txn& txn, std::string_view key, uint64_t before, uint32_t limit,
                              std::vector<Version>* out) const {
  const std::string prefix = KeyPrefix(key);
  auto cursor = Cursor::Open(txn, dbi_);
  if (!cursor.ok()) return cursor.status();
  const bool found = cursor->Seek(VersionKey(key, before));
  bool valid = found ? cursor->Prev() : cursor->Last();
  for (; valid && out->size() < limit; valid = cursor->Prev()) {
    if (cursor->key().size() != prefix.size() + 8 || cursor->key().substr(0, prefix.size()) != prefix) break;
    auto v = Decode(cursor->key(), cursor->value());
    if (!v.ok()) return v.status();
    out->push_back(std::move(*v));
  }
  return Status::OK();
}

Status VersionHistory::ListAt(const Txn& txn, std::string_view prefix, std::string_view after, uint64_t at,
                            uint32_t limit, const Visible& visible, std::vector<KeyVersion>* out) const {
  auto cursor = Cursor::Open(txn, dbi_);
  if (!cursor.ok()) return cursor.status();
  std::string from = EscapedStart(prefix);
  if (!after.empty()) from = std::max(from, AfterAllVersions(after));
  std::string key;
  // LMDB has no empty key to seek to: the start of the table is First().
  while (out->size() < limit && (from.empty() ? cursor->First() : cursor->Seek(from)) &&
         KeyOfEntry(cursor->key(), &key)) {
    if (key.compare(0, prefix.size(), prefix) != 0) break;  // past the prefix's keys
    std::optional<Version> v;
    KISSVDB_RETURN_IF_ERROR(NewestAt(*cursor, key, at, &v));
    if (v.has_value() && !v->deleted && visible(*v)) out->push_back(KeyVersion{key, std::move(*v)});
    from = AfterAllVersions(key);
  }
  return Status::OK();
}

Status VersionHistory::ForEach(const Txn& txn,
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
