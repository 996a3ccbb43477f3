#include "kv/state_history.h"

#include <lmdb.h>

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "kv/version_history.h"

namespace kissvdb::kv {

namespace {

constexpr size_t kEntryHeader = 41;  // prev, skip, ts, revision, expires_at, kind
enum Kind : uint8_t { kPut = 0, kDeleted = 1, kExpired = 2 };
const std::string kHorizonKey(8, '\0');  // offset 0: no event has it

std::string VersionKey(uint64_t offset, std::string_view key) {
  std::string k;
  k.reserve(8 + key.size());
  PutU64BE(&k, offset);
  k.append(key);
  return k;
}

uint64_t Prev(std::string_view entry) { return GetU64LE(entry.data()); }
uint64_t Skip(std::string_view entry) { return GetU64LE(entry.data() + 8); }
uint8_t KindOf(std::string_view entry) { return static_cast<uint8_t>(entry[40]); }

Version Decode(uint64_t offset, std::string_view entry) {
  Version v;
  v.offset = offset;
  v.ts_ms = GetU64LE(entry.data() + 16);
  v.revision = GetU64LE(entry.data() + 24);
  v.expires_at_ms = GetU64LE(entry.data() + 32);
  const uint8_t kind = KindOf(entry);
  v.deleted = kind != kPut;
  if (v.deleted) v.reason = kind == kExpired ? "ttl" : "explicit";
  v.value_json.assign(entry.substr(kEntryHeader));
  return v;
}

// The entry of (offset, key); empty when there is none (pruned).
Result<std::string_view> Lookup(const Txn& txn, MDB_dbi versions, uint64_t offset, std::string_view key) {
  auto raw = txn.Get(versions, VersionKey(offset, key));
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::string_view();
  if ((*raw)->size() < kEntryHeader) return Status::Corruption("history: short version entry");
  return **raw;
}

Status DecodeHeads(std::string_view encoded, VersionHeads* heads) {
  if (!heads->Decode(encoded)) return Status::Corruption("history: malformed version heads");
  return Status::OK();
}

uint8_t KindOf(DeleteReason reason) { return reason == DeleteReason::kTtl ? kExpired : kDeleted; }

}  // namespace

Result<StateHistory> StateHistory::Open(Txn& txn, const StateStore& state, uint64_t applied_offset) {
  auto versions = txn.OpenDb("state_versions", MDB_CREATE);
  if (!versions.ok()) return versions.status();
  auto deleted = txn.OpenDb("state_heads_deleted", MDB_CREATE);
  if (!deleted.ok()) return deleted.status();
  StateHistory h(state, *versions, *deleted);
  auto horizon = txn.Get(*versions, kHorizonKey);
  if (!horizon.ok()) return horizon.status();
  if (!horizon->has_value()) {
    MDB_dbi old = 0;
    int rc = mdb_dbi_open(txn.get(), "state_history", 0, &old);
    if (rc == 0) {
      KISSVDB_RETURN_IF_ERROR(h.Convert(txn, old));
    } else if (rc == MDB_NOTFOUND) {
      // Created in a directory that already applied events: it holds no
      // version of the present yet, so it starts as "nothing kept" until
      // the engine seeds it (EngineImpl::OpenHistory).
      KISSVDB_RETURN_IF_ERROR(h.SetHorizon(txn, applied_offset == 0 ? 1 : kOff));
    } else {
      return LmdbStatus("mdb_dbi_open state_history", rc);
    }
  }
  return h;
}

Status StateHistory::Convert(Txn& txn, MDB_dbi old) {
  auto format1 = VersionHistory::Open(txn, "state_history", 0);
  if (!format1.ok()) return format1.status();
  auto horizon = format1->Horizon(txn);
  if (!horizon.ok()) return horizon.status();
  auto versions = Cursor::Open(txn, versions_);
  if (!versions.ok()) return versions.status();
  auto state = state_.OpenCursor(txn);
  if (!state.ok()) return state.status();
  std::string current;
  VersionHeads heads;
  auto settle = [&]() -> Status {  // `current` has all its versions: its heads go beside it
    if (heads.empty()) return Status::OK();
    auto rec = state_.Find(*state, current);
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) return txn.Put(deleted_, current, heads.Encode());
    const StateRecord r{current, (*rec)->revision, (*rec)->expires_at_ms, std::string((*rec)->value_json)};
    return state_.Write(txn, *state, r.key, r.expires_at_ms, r.revision, r.expires_at_ms, r.value_json,
                        heads.Encode());
  };
  KISSVDB_RETURN_IF_ERROR(format1->ForEach(txn, [&](const std::string& key, Version&& v) -> Status {
    if (key != current) {
      KISSVDB_RETURN_IF_ERROR(settle());
      current = key;
      heads = VersionHeads();
    }
    if (v.offset <= heads.newest()) return Status::Corruption("history: format 1 versions out of order");
    const uint8_t kind = !v.deleted ? kPut : v.reason == "ttl" ? kExpired : kDeleted;
    return AppendVersion(*versions, key, v.offset, &heads, v.ts_ms, v.revision, v.expires_at_ms, kind,
                         v.value_json);
  }));
  KISSVDB_RETURN_IF_ERROR(settle());
  KISSVDB_RETURN_IF_ERROR(SetHorizon(txn, *horizon));
  int rc = mdb_drop(txn.get(), old, 1);
  if (rc != 0) return LmdbStatus("mdb_drop state_history", rc);
  return Status::OK();
}

Status StateHistory::AppendVersion(Cursor& versions, std::string_view key, uint64_t offset, VersionHeads* heads,
                                   uint64_t ts_ms, uint64_t revision, uint64_t expires_at_ms, uint8_t kind,
                                   std::string_view value_json) const {
  std::string entry;
  entry.reserve(kEntryHeader + value_json.size());
  PutU64LE(&entry, heads->newest());
  PutU64LE(&entry, heads->size() == VersionHeads::kMax ? (*heads)[0] : 0);
  PutU64LE(&entry, ts_ms);
  PutU64LE(&entry, revision);
  PutU64LE(&entry, expires_at_ms);
  entry.push_back(static_cast<char>(kind));
  entry.append(value_json);
  heads->Add(offset);
  return versions.Append(VersionKey(offset, key), entry);
}

Status StateHistory::Put(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, uint64_t revision,
                         uint64_t expires_at_ms, std::string_view value_json) {
  StatePut put{key, value_json, offset, ts_ms, revision, expires_at_ms};
  return PutSorted(txn, std::vector<StatePut>{put});
}

Status StateHistory::PutSorted(Txn& txn, const std::vector<StatePut>& puts) {
  auto state = state_.OpenCursor(txn);
  if (!state.ok()) return state.status();
  // Versions are appended in offset order once the run's heads are known.
  std::vector<std::pair<uint64_t, size_t>> order;  // offset, index in puts
  std::vector<std::pair<uint64_t, uint64_t>> links;  // prev, skip of each put
  order.reserve(puts.size());
  links.resize(puts.size());
  for (size_t i = 0; i < puts.size();) {
    const std::string_view key = puts[i].key;
    auto rec = state_.Find(*state, key);
    if (!rec.ok()) return rec.status();
    VersionHeads heads;
    uint64_t old_expires = 0;
    if (rec->has_value()) {
      KISSVDB_RETURN_IF_ERROR(DecodeHeads((*rec)->heads, &heads));
      old_expires = (*rec)->expires_at_ms;
    } else {
      auto gone = txn.Get(deleted_, key);
      if (!gone.ok()) return gone.status();
      if (gone->has_value()) {
        KISSVDB_RETURN_IF_ERROR(DecodeHeads(**gone, &heads));
        auto del = txn.Del(deleted_, key);
        if (!del.ok()) return del.status();
      }
    }
    size_t last = i;
    for (; last < puts.size() && puts[last].key == key; ++last) {
      if (puts[last].offset <= heads.newest()) return Status::Corruption("history: a put older than its key's");
      links[last] = {heads.newest(), heads.size() == VersionHeads::kMax ? heads[0] : 0};
      heads.Add(puts[last].offset);
      order.emplace_back(puts[last].offset, last);
    }
    const StatePut& p = puts[last - 1];
    KISSVDB_RETURN_IF_ERROR(
        state_.Write(txn, *state, key, old_expires, p.revision, p.expires_at_ms, p.value, heads.Encode()));
    i = last;
  }
  std::sort(order.begin(), order.end());
  auto versions = Cursor::Open(txn, versions_);
  if (!versions.ok()) return versions.status();
  std::string entry;
  for (const auto& [offset, i] : order) {
    const StatePut& p = puts[i];
    entry.clear();
    PutU64LE(&entry, links[i].first);
    PutU64LE(&entry, links[i].second);
    PutU64LE(&entry, p.ts_ms);
    PutU64LE(&entry, p.revision);
    PutU64LE(&entry, p.expires_at_ms);
    entry.push_back(static_cast<char>(kPut));
    entry.append(p.value);
    KISSVDB_RETURN_IF_ERROR(versions->Append(VersionKey(offset, p.key), entry));
  }
  return Status::OK();
}

Status StateHistory::Delete(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, DeleteReason reason) {
  auto state = state_.OpenCursor(txn);
  if (!state.ok()) return state.status();
  auto rec = state_.Find(*state, key);
  if (!rec.ok()) return rec.status();
  VersionHeads heads;
  if (rec->has_value()) {
    KISSVDB_RETURN_IF_ERROR(DecodeHeads((*rec)->heads, &heads));
    KISSVDB_RETURN_IF_ERROR(state_.Erase(txn, *state, key, (*rec)->expires_at_ms));
  } else {
    auto gone = txn.Get(deleted_, key);
    if (!gone.ok()) return gone.status();
    if (gone->has_value()) KISSVDB_RETURN_IF_ERROR(DecodeHeads(**gone, &heads));
  }
  if (offset <= heads.newest()) return Status::Corruption("history: a deletion older than its key's versions");
  auto versions = Cursor::Open(txn, versions_);
  if (!versions.ok()) return versions.status();
  KISSVDB_RETURN_IF_ERROR(AppendVersion(*versions, key, offset, &heads, ts_ms, 0, 0, KindOf(reason), ""));
  return txn.Put(deleted_, key, heads.Encode());
}

Status StateHistory::Seed(Txn& txn, uint64_t offset, uint64_t ts_ms) {
  constexpr uint32_t kPage = 1000;
  int rc = mdb_drop(txn.get(), deleted_, 0);
  if (rc != 0) return LmdbStatus("mdb_drop state_heads_deleted", rc);
  auto versions = Cursor::Open(txn, versions_);
  if (!versions.ok()) return versions.status();
  auto state = state_.OpenCursor(txn);
  if (!state.ok()) return state.status();
  std::vector<StateRecord> page;
  for (std::string after;; after = page.back().key) {
    page.clear();
    // now_ms 0: every record, with a TTL or not (reads judge TTLs).
    KISSVDB_RETURN_IF_ERROR(state_.List(txn, "", after, kPage, 0, &page));
    for (const StateRecord& r : page) {
      VersionHeads heads;
      KISSVDB_RETURN_IF_ERROR(AppendVersion(*versions, r.key, offset, &heads, ts_ms, r.revision, r.expires_at_ms,
                                            kPut, r.value_json));
      KISSVDB_RETURN_IF_ERROR(state_.Write(txn, *state, r.key, r.expires_at_ms, r.revision, r.expires_at_ms,
                                           r.value_json, heads.Encode()));
    }
    if (page.size() < kPage) break;
  }
  return Status::OK();
}

Result<uint64_t> StateHistory::Horizon(const Txn& txn) const {
  auto raw = txn.Get(versions_, kHorizonKey);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value() || (*raw)->size() != 8) return Status::Corruption("history: no horizon");
  return GetU64LE((*raw)->data());
}

Status StateHistory::SetHorizon(Txn& txn, uint64_t horizon) const {
  std::string raw;
  PutU64LE(&raw, horizon);
  return txn.Put(versions_, kHorizonKey, raw);
}

Status StateHistory::Clear(Txn& txn) const {
  for (MDB_dbi dbi : {versions_, deleted_}) {
    int rc = mdb_drop(txn.get(), dbi, 0);
    if (rc != 0) return LmdbStatus("mdb_drop", rc);
  }
  return Status::OK();
}

Status StateHistory::HeadsOf(const Txn& txn, std::string_view key, VersionHeads* heads, bool* live) const {
  *heads = VersionHeads();
  auto rec = state_.Get(txn, key);
  if (!rec.ok()) return rec.status();
  *live = rec->has_value();
  if (*live) return DecodeHeads((*rec)->heads, heads);
  auto gone = txn.Get(deleted_, key);
  if (!gone.ok()) return gone.status();
  return gone->has_value() ? DecodeHeads(**gone, heads) : Status::OK();
}

Status StateHistory::Locate(const Txn& txn, std::string_view key, const VersionHeads& heads, uint64_t at,
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
      if (Skip(*e) > at) {
        cur = Skip(*e);
      } else if (Prev(*e) == 0) {
        return Status::OK();
      } else if (Prev(*e) <= at) {
        target = Prev(*e);
        break;
      } else {
        cur = Prev(*e);
      }
    }
  }
  auto e = Lookup(txn, versions_, target, key);
  if (!e.ok()) return e.status();
  *offset = target;
  *entry = *e;
  return Status::OK();
}

Result<std::optional<Version>> StateHistory::At(const Txn& txn, std::string_view key, uint64_t at) const {
  VersionHeads heads;
  bool live;
  KISSVDB_RETURN_IF_ERROR(HeadsOf(txn, key, &heads, &live));
  uint64_t offset;
  std::string_view entry;
  KISSVDB_RETURN_IF_ERROR(Locate(txn, key, heads, at, &offset, &entry));
  if (entry.empty()) return std::optional<Version>();
  return std::optional<Version>(Decode(offset, entry));
}

Status StateHistory::Versions(const Txn& txn, std::string_view key, uint64_t before, uint32_t limit,
                              std::vector<Version>* out) const {
  if (before == 0 || limit == 0) return Status::OK();
  VersionHeads heads;
  bool live;
  KISSVDB_RETURN_IF_ERROR(HeadsOf(txn, key, &heads, &live));
  uint64_t offset;
  std::string_view entry;
  KISSVDB_RETURN_IF_ERROR(Locate(txn, key, heads, before - 1, &offset, &entry));
  while (!entry.empty()) {
    out->push_back(Decode(offset, entry));
    offset = Prev(entry);
    if (out->size() >= limit || offset == 0) break;
    auto e = Lookup(txn, versions_, offset, key);
    if (!e.ok()) return e.status();
    entry = *e;
  }
  return Status::OK();
}

Status StateHistory::ListAt(const Txn& txn, std::string_view prefix, std::string_view after, uint64_t at,
                            uint32_t limit, const Visible& visible, std::vector<KeyVersion>* out) const {
  auto live = state_.OpenCursor(txn);
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
      auto rec = state_.Find(c, key);  // the cursor is on it: decodes the record
      if (!rec.ok()) return rec.status();
      if (rec->has_value()) KISSVDB_RETURN_IF_ERROR(DecodeHeads((*rec)->heads, &heads));
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
    if (entry.empty() || KindOf(entry) != kPut) continue;
    Version v = Decode(offset, entry);
    if (visible(v)) out->push_back(KeyVersion{key, std::move(v)});
  }
  return Status::OK();
}

Status StateHistory::CollectPrunable(const Txn& txn, uint64_t horizon, uint32_t max_visits, std::string* from,
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
    const bool put = cursor->value().size() >= kEntryHeader && KindOf(cursor->value()) == kPut;
    auto it = newest_before.find(key);
    if (it == newest_before.end()) {
      VersionHeads heads;
      bool live;
      KISSVDB_RETURN_IF_ERROR(HeadsOf(txn, key, &heads, &live));
      uint64_t nb;
      std::string_view entry;
      KISSVDB_RETURN_IF_ERROR(Locate(txn, key, heads, horizon - 1, &nb, &entry));
      it = newest_before.emplace(key, nb).first;
      // A key whose every version is before the horizon and ends deleted
      // leaves nothing: its heads go too.
      if (!live && nb == heads.newest() && !entry.empty() && KindOf(entry) != kPut) doomed->push_back("d" + key);
    }
    if (offset < it->second || (offset == it->second && !put)) doomed->push_back("v" + std::string(k));
  }
  return Status::OK();
}

Status StateHistory::Prune(Txn& txn, uint64_t horizon, const std::vector<std::string>& doomed) const {
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
  if (horizon == kOff) {
    int rc = mdb_drop(txn.get(), deleted_, 0);
    if (rc != 0) return LmdbStatus("mdb_drop state_heads_deleted", rc);
  }
  return Status::OK();
}

Result<History::Space> StateHistory::Usage(const Txn& txn) const {
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
