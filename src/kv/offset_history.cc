#include "kv/offset_history.h"

#include <lmdb.h>

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "kv/format1_history.h"
#include "util/varint.h"

namespace kissvdb::kv {

namespace {

const std::string kHorizonKey(8, '\0');  // offset 0: no event has it

// A version entry: u8 kind, then varints: offset - prev (0: no previous
// version), offset - skip (0: none), ts_ms, revision, expires_at_ms; then
// the value.
struct Entry {
  uint64_t prev = 0;
  uint64_t skip = 0;
  uint64_t ts_ms = 0;
  uint64_t revision = 0;
  uint64_t expires_at_ms = 0;
  uint8_t kind = 0;
  std::string_view value;
};

uint8_t EntryKind(std::string_view entry) { return static_cast<uint8_t>(entry[0]); }

Status ParseEntry(uint64_t offset, std::string_view raw, Entry* e) {
  if (raw.empty()) return Status::Corruption("history: empty version entry");
  e->kind = EntryKind(raw);
  raw.remove_prefix(1);
  uint64_t prev_delta, skip_delta;
  if (!varint::Get(&raw, &prev_delta) || !varint::Get(&raw, &skip_delta) || !varint::Get(&raw, &e->ts_ms) ||
      !varint::Get(&raw, &e->revision) || !varint::Get(&raw, &e->expires_at_ms) || prev_delta > offset ||
      skip_delta > offset) {
    return Status::Corruption("history: malformed version entry at offset " + std::to_string(offset));
  }
  e->prev = prev_delta == 0 ? 0 : offset - prev_delta;
  e->skip = skip_delta == 0 ? 0 : offset - skip_delta;
  e->value = raw;
  return Status::OK();
}

Result<Version> Decode(uint64_t offset, std::string_view raw) {
  Entry e;
  KISSVDB_RETURN_IF_ERROR(ParseEntry(offset, raw, &e));
  Version v;
  v.offset = offset;
  v.ts_ms = e.ts_ms;
  v.revision = e.revision;
  v.expires_at_ms = e.expires_at_ms;
  v.deleted = e.kind != OffsetHistory::kPut;
  if (v.deleted) {
    v.reason = e.kind == OffsetHistory::kExpired ? "ttl" : e.kind == OffsetHistory::kDropped ? "drop" : "explicit";
  }
  v.value_json.assign(e.value);
  return v;
}

// The entry of (offset, key); empty when there is none (pruned).
Result<std::string_view> Lookup(const Txn& txn, MDB_dbi versions, uint64_t offset, std::string_view key) {
  auto raw = txn.Get(versions, OffsetHistory::VersionKey(offset, key));
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::string_view();
  if ((*raw)->empty()) return Status::Corruption("history: empty version entry");
  return **raw;
}

}  // namespace

OffsetHistory::Kind OffsetHistory::KindOf(DeleteReason reason) {
  return reason == DeleteReason::kTtl ? kExpired : reason == DeleteReason::kDrop ? kDropped : kDeleted;
}

std::string OffsetHistory::VersionKey(uint64_t offset, std::string_view key) { return U64BEThen(offset, key); }

void OffsetHistory::EncodeEntry(std::string* out, uint64_t offset, uint64_t prev, uint64_t skip, uint64_t ts_ms,
                                uint64_t revision, uint64_t expires_at_ms, Kind kind, std::string_view value_json) {
  out->reserve(out->size() + 1 + 5 * 10 + value_json.size());
  out->push_back(static_cast<char>(kind));
  varint::Put(out, prev == 0 ? 0 : offset - prev);
  varint::Put(out, skip == 0 ? 0 : offset - skip);
  varint::Put(out, ts_ms);
  varint::Put(out, revision);
  varint::Put(out, expires_at_ms);
  out->append(value_json);
}

Status OffsetHistory::DecodeHeads(std::string_view encoded, VersionHeads* heads) {
  if (!heads->Decode(encoded)) return Status::Corruption("history: malformed version heads");
  return Status::OK();
}

Result<OffsetHistory::Tables> OffsetHistory::OpenTables(Txn& txn, const char* versions_name,
                                                        const char* deleted_name) {
  auto versions = txn.OpenDb(versions_name, MDB_CREATE);
  if (!versions.ok()) return versions.status();
  auto deleted = txn.OpenDb(deleted_name, MDB_CREATE);
  if (!deleted.ok()) return deleted.status();
  return Tables{*versions, *deleted};
}

Status OffsetHistory::OpenOrConvert(Txn& txn, const char* format1, uint64_t applied_offset, const Attach& attach) {
  auto horizon = txn.Get(versions_, kHorizonKey);
  if (!horizon.ok()) return horizon.status();
  if (horizon->has_value()) return Status::OK();
  MDB_dbi old = 0;
  int rc = mdb_dbi_open(txn.get(), format1, 0, &old);
  if (rc == MDB_NOTFOUND) {
    // Created in a directory that already applied events: it holds no
    // version of the present yet, so it starts as "nothing kept" until the
    // engine seeds it (EngineImpl::OpenHistory).
    return SetHorizon(txn, applied_offset == 0 ? 1 : kOff);
  }
  if (rc != 0) return LmdbStatus(std::string("mdb_dbi_open ") + format1, rc);
  // Format 1 -> 2: the versions come by key, then offset.
  auto old_history = Format1History::Open(txn, format1);
  if (!old_history.ok()) return old_history.status();
  auto old_horizon = old_history->Horizon(txn);
  if (!old_horizon.ok()) return old_horizon.status();
  auto versions = Cursor::Open(txn, versions_);
  if (!versions.ok()) return versions.status();
  std::string current;
  VersionHeads heads;
  auto settle = [&]() -> Status {  // `current` has all its versions: its heads go beside it
    if (heads.empty()) return Status::OK();
    auto live = attach(current, heads);
    if (!live.ok()) return live.status();
    return *live ? Status::OK() : SetDeletedHeads(txn, current, heads);
  };
  KISSVDB_RETURN_IF_ERROR(old_history->ForEach(txn, [&](const std::string& key, Version&& v) -> Status {
    if (key != current) {
      KISSVDB_RETURN_IF_ERROR(settle());
      current = key;
      heads = VersionHeads();
    }
    if (v.offset <= heads.newest()) return Status::Corruption("history: format 1 versions out of order");
    const Kind kind = !v.deleted ? kPut : v.reason == "ttl" ? kExpired : v.reason == "drop" ? kDropped : kDeleted;
    return Append(*versions, key, v.offset, &heads, v.ts_ms, v.revision, v.expires_at_ms, kind, v.value_json);
  }));
  KISSVDB_RETURN_IF_ERROR(settle());
  KISSVDB_RETURN_IF_ERROR(SetHorizon(txn, *old_horizon));
  rc = mdb_drop(txn.get(), old, 1);
  return rc == 0 ? Status::OK() : LmdbStatus(std::string("mdb_drop ") + format1, rc);
}

Status OffsetHistory::Append(Cursor& versions, std::string_view key, uint64_t offset, VersionHeads* heads,
                             uint64_t ts_ms, uint64_t revision, uint64_t expires_at_ms, Kind kind,
                             std::string_view value_json) const {
  std::string entry;
  EncodeEntry(&entry, offset, heads->newest(), heads->size() == VersionHeads::kMax ? (*heads)[0] : 0, ts_ms, revision,
              expires_at_ms, kind, value_json);
  heads->Add(offset);
  return versions.Append(VersionKey(offset, key), entry);
}

Status OffsetHistory::DeletedHeads(Txn& txn, std::string_view key, bool erase, VersionHeads* heads) const {
  auto gone = txn.Get(deleted_, key);
  if (!gone.ok()) return gone.status();
  if (!gone->has_value()) return Status::OK();
  KISSVDB_RETURN_IF_ERROR(DecodeHeads(**gone, heads));
  if (!erase) return Status::OK();
  auto del = txn.Del(deleted_, key);
  return del.ok() ? Status::OK() : del.status();
}

Status OffsetHistory::SetDeletedHeads(Txn& txn, std::string_view key, const VersionHeads& heads) const {
  return txn.Put(deleted_, key, heads.Encode());
}

Result<uint64_t> OffsetHistory::Horizon(const Txn& txn) const {
  auto raw = txn.Get(versions_, kHorizonKey);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value() || (*raw)->size() != 8) return Status::Corruption("history: no horizon");
  return GetU64LE((*raw)->data());
}

Status OffsetHistory::SetHorizon(Txn& txn, uint64_t horizon) const {
  std::string raw;
  PutU64LE(&raw, horizon);
  return txn.Put(versions_, kHorizonKey, raw);
}

Status OffsetHistory::ClearDeleted(Txn& txn) const {
  int rc = mdb_drop(txn.get(), deleted_, 0);
  return rc == 0 ? Status::OK() : LmdbStatus("mdb_drop (deleted heads)", rc);
}

Status OffsetHistory::Clear(Txn& txn) const {
  for (MDB_dbi dbi : {versions_, deleted_}) {
    int rc = mdb_drop(txn.get(), dbi, 0);
    if (rc != 0) return LmdbStatus("mdb_drop", rc);
  }
  return Status::OK();
}

Status OffsetHistory::HeadsOf(const Txn& txn, std::string_view key, VersionHeads* heads, bool* live) const {
  *heads = VersionHeads();
  auto rec = txn.Get(present_, key);
  if (!rec.ok()) return rec.status();
  *live = rec->has_value();
  if (*live) return heads_of_record_(**rec, heads);
  auto gone = txn.Get(deleted_, key);
  if (!gone.ok()) return gone.status();
  return gone->has_value() ? DecodeHeads(**gone, heads) : Status::OK();
}

Status OffsetHistory::Locate(const Txn& txn, std::string_view key, const VersionHeads& heads, uint64_t at,
                            uint64_t* offset, std::string_view* entry) const {
  *offset = 0;
  *entry = {};
  if (heads.empty()) return Status::OK();
  const int i = heads.NewestAtOrBefore(at);
  uint64_t target;
  if (i >= 0) {
    target = heads[i];
  } else {
    // Older than every head: jump 16 versions at a time while the version
    // 16 back is still after `at`, then step back one at a time.
    uint64_t cur = heads[0];
    for (;;) {
      auto e = Lookup(txn, versions_, cur, key);
      if (!e.ok()) return e.status();
      if (e->empty()) return Status::OK();  // pruned: nothing kept that old
      Entry parsed;
      KISSVDB_RETURN_IF_ERROR(ParseEntry(cur, *e, &parsed));
      if (parsed.skip > at) {
        cur = parsed.skip;
      } else if (parsed.prev == 0) {
        return Status::OK();
      } else if (parsed.prev <= at) {
        target = parsed.prev;
        break;
      } else {
        cur = parsed.prev;
      }
    }
  }
  auto e = Lookup(txn, versions_, target, key);
  if (!e.ok()) return e.status();
  *offset = target;
  *entry = *e;
  return Status::OK();
}

Status OffsetHistory::Find(const Txn& txn, std::string_view key, uint64_t at, Found* found) const {
  KISSVDB_RETURN_IF_ERROR(HeadsOf(txn, key, &found->heads, &found->live));
  return Locate(txn, key, found->heads, at, &found->offset, &found->entry);
}

Result<std::optional<Version>> OffsetHistory::At(const Txn& txn, std::string_view key, uint64_t at) const {
  Found f;
  KISSVDB_RETURN_IF_ERROR(Find(txn, key, at, &f));
  if (f.entry.empty()) return std::optional<Version>();
  auto v = Decode(f.offset, f.entry);
  if (!v.ok()) return v.status();
  return std::optional<Version>(std::move(*v));
}

Status OffsetHistory::Versions(const Txn& txn, std::string_view key, uint64_t before, uint32_t limit,
                              std::vector<Version>* out) const {
  if (before == 0 || limit == 0) return Status::OK();
  Found f;
  KISSVDB_RETURN_IF_ERROR(Find(txn, key, before - 1, &f));
  uint64_t offset = f.offset;
  std::string_view entry = f.entry;
  while (!entry.empty()) {
    auto v = Decode(offset, entry);
    if (!v.ok()) return v.status();
    out->push_back(std::move(*v));
    Entry parsed;
    KISSVDB_RETURN_IF_ERROR(ParseEntry(offset, entry, &parsed));
    offset = parsed.prev;
    if (out->size() >= limit || offset == 0) break;
    auto e = Lookup(txn, versions_, offset, key);
    if (!e.ok()) return e.status();
    entry = *e;
  }
  return Status::OK();
}

Status OffsetHistory::ListAt(const Txn& txn, std::string_view prefix, std::string_view after, uint64_t at,
                            uint32_t limit, const Visible& visible, std::vector<KeyVersion>* out) const {
  auto live = Cursor::Open(txn, present_);
  if (!live.ok()) return live.status();
  auto gone = Cursor::Open(txn, deleted_);
  if (!gone.ok()) return gone.status();
  const std::string_view start = after.empty() || after < prefix ? prefix : after;
  auto position = [&](Cursor& c) {
    bool valid = start.empty() ? c.First() : c.Seek(start);
    if (valid && !after.empty() && c.key() == after) valid = c.Next();
    return valid;
  };
  auto in_prefix = [&](bool valid, Cursor& c) { return valid && c.key().substr(0, prefix.size()) == prefix; };
  bool live_valid = in_prefix(position(*live), *live);
  bool gone_valid = in_prefix(position(*gone), *gone);
  std::string key;
  while (out->size() < limit && (live_valid || gone_valid)) {
    const bool from_live = live_valid && (!gone_valid || live->key() <= gone->key());
    Cursor& c = from_live ? *live : *gone;
    key.assign(c.key());
    VersionHeads heads;
    if (from_live) {
      KISSVDB_RETURN_IF_ERROR(heads_of_record_(c.value(), &heads));
    } else {
      KISSVDB_RETURN_IF_ERROR(DecodeHeads(c.value(), &heads));
    }
    // Both tables hold `key` only if they disagree; the state record wins.
    if (live_valid && gone_valid && live->key() == gone->key()) gone_valid = in_prefix(gone->Next(), *gone);
    if (from_live) {
      live_valid = in_prefix(live->Next(), *live);
    } else {
      gone_valid = in_prefix(gone->Next(), *gone);
    }
    uint64_t offset;
    std::string_view entry;
    KISSVDB_RETURN_IF_ERROR(Locate(txn, key, heads, at, &offset, &entry));
    if (entry.empty() || EntryKind(entry) != kPut) continue;
    auto v = Decode(offset, entry);
    if (!v.ok()) return v.status();
    if (visible(*v)) out->push_back(KeyVersion{key, std::move(*v)});
  }
  return Status::OK();
}

Status OffsetHistory::CollectPrunable(const Txn& txn, uint64_t horizon, uint32_t max_visits, std::string* from,
                                     std::vector<std::string>* doomed) const {
  auto cursor = Cursor::Open(txn, versions_);
  if (!cursor.ok()) return cursor.status();
  std::string first;
  PutU64BE(&first, 1);
  bool valid = cursor->Seek(from->empty() ? first : *from);
  from->clear();
  // Per key: the newest version before the horizon, which stays if a put.
  std::unordered_map<std::string, uint64_t> newest_before;
  uint32_t visits = 0;
  for (; valid; valid = cursor->Next()) {
    const std::string_view k = cursor->key();
    if (k.size() < 8) return Status::Corruption("history: short version key");
    const uint64_t offset = GetU64BE(k.data());
    if (offset >= horizon) break;
    if (visits++ >= max_visits) {
      from->assign(k);
      return Status::OK();
    }
    if (horizon == kOff) {
      doomed->push_back("v" + std::string(k));
      continue;
    }
    const std::string key(k.substr(8));
    const bool put = !cursor->value().empty() && EntryKind(cursor->value()) == kPut;
    auto it = newest_before.find(key);
    if (it == newest_before.end()) {
      Found f;
      KISSVDB_RETURN_IF_ERROR(Find(txn, key, horizon - 1, &f));
      // No heads at all: an earlier batch took a deleted key's heads, so
      // nothing reaches its versions any more and they all go.
      it = newest_before.emplace(key, f.heads.empty() ? UINT64_MAX : f.offset).first;
      // A key whose every version is before the horizon and ends deleted
      // leaves nothing: its heads go too.
      if (!f.live && f.offset == f.heads.newest() && !f.entry.empty() && EntryKind(f.entry) != kPut) {
        doomed->push_back("d" + key);
      }
    }
    if (offset < it->second || (offset == it->second && !put)) doomed->push_back("v" + std::string(k));
  }
  return Status::OK();
}

Status OffsetHistory::Prune(Txn& txn, uint64_t horizon, const std::vector<std::string>& doomed) const {
  KISSVDB_RETURN_IF_ERROR(SetHorizon(txn, horizon));
  for (const std::string& d : doomed) {
    const std::string_view k = std::string_view(d).substr(1);
    if (d[0] == 'd') {  // only if the key was not written since it was collected
      auto raw = txn.Get(deleted_, k);
      if (!raw.ok()) return raw.status();
      VersionHeads heads;
      if (!raw->has_value() || !heads.Decode(**raw) || heads.newest() >= horizon) continue;
    }
    auto gone = txn.Del(d[0] == 'v' ? versions_ : deleted_, k);
    if (!gone.ok()) return gone.status();
  }
  if (horizon == kOff) KISSVDB_RETURN_IF_ERROR(ClearDeleted(txn));
  return Status::OK();
}

Result<OffsetHistory::Space> OffsetHistory::Usage(const Txn& txn) const {
  Space space;
  for (MDB_dbi dbi : {versions_, deleted_}) {
    MDB_stat st;
    int rc = mdb_stat(txn.get(), dbi, &st);
    if (rc != 0) return LmdbStatus("mdb_stat", rc);
    if (dbi == versions_) space.versions = st.ms_entries > 0 ? st.ms_entries - 1 : 0;  // less the horizon
    space.bytes += (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) * uint64_t{st.ms_psize};
  }
  return space;
}

}  // namespace kissvdb::kv
