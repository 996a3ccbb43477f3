#include "kv/state_history.h"

#include <lmdb.h>

#include <algorithm>
#include <string>
#include <utility>

namespace kissvdb::kv {

Status StateHistory::RecordHeads(std::string_view record, VersionHeads* heads) {
  auto rec = StateStore::Decode(record);
  if (!rec) return Status::Corruption("state record shorter than its header");
  return DecodeHeads(rec->heads, heads);
}

Result<StateHistory> StateHistory::Open(Txn& txn, const StateStore& state, uint64_t applied_offset) {
  auto tables = OpenTables(txn, "state_versions", "state_heads_deleted");
  if (!tables.ok()) return tables.status();
  StateHistory h(state, *tables);
  auto cursor = h.state_.OpenCursor(txn);
  if (!cursor.ok()) return cursor.status();
  // A converted key's heads go into its state record, if it has one.
  KISSVDB_RETURN_IF_ERROR(h.OpenOrConvert(
      txn, "state_history", applied_offset, [&](const std::string& key, const VersionHeads& heads) -> Result<bool> {
        auto rec = h.state_.Find(*cursor, key);
        if (!rec.ok()) return rec.status();
        if (!rec->has_value()) return false;
        const StateRecord r{key, (*rec)->revision, (*rec)->expires_at_ms, std::string((*rec)->value_json)};
        KISSVDB_RETURN_IF_ERROR(h.state_.Write(txn, *cursor, key, r.expires_at_ms, r.revision, r.expires_at_ms,
                                               r.value_json, heads.Encode()));
        return true;
      }));
  return h;
}

Status StateHistory::HeadsBefore(Txn& txn, Cursor& state, std::string_view key, VersionHeads* heads,
                                 uint64_t* old_expires) const {
  auto rec = state_.Find(state, key);
  if (!rec.ok()) return rec.status();
  *old_expires = 0;
  if (!rec->has_value()) return DeletedHeads(txn, key, /*erase=*/true, heads);
  *old_expires = (*rec)->expires_at_ms;
  return DecodeHeads((*rec)->heads, heads);
}

Status StateHistory::Put(Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, uint64_t revision,
                         uint64_t expires_at_ms, std::string_view value_json) {
  auto state = state_.OpenCursor(txn);
  if (!state.ok()) return state.status();
  VersionHeads heads;
  uint64_t old_expires;
  KISSVDB_RETURN_IF_ERROR(HeadsBefore(txn, *state, key, &heads, &old_expires));
  if (offset <= heads.newest()) return Status::Corruption("history: a put older than its key's");
  auto versions = Cursor::Open(txn, this->versions());
  if (!versions.ok()) return versions.status();
  KISSVDB_RETURN_IF_ERROR(Append(*versions, key, offset, &heads, ts_ms, revision, expires_at_ms, kPut, value_json));
  return state_.Write(txn, *state, key, old_expires, revision, expires_at_ms, value_json, heads.Encode());
}

Status StateHistory::PutSorted(Txn& txn, const std::vector<StatePut>& puts) {
  auto state = state_.OpenCursor(txn);
  if (!state.ok()) return state.status();
  // Versions are appended in offset order once each key's heads are known.
  std::vector<std::pair<uint64_t, size_t>> order;  // offset, index in puts
  std::vector<std::pair<uint64_t, uint64_t>> links(puts.size());  // prev, skip of each put
  order.reserve(puts.size());
  for (size_t i = 0; i < puts.size();) {
    const std::string_view key = puts[i].key;
    VersionHeads heads;
    uint64_t old_expires;
    KISSVDB_RETURN_IF_ERROR(HeadsBefore(txn, *state, key, &heads, &old_expires));
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
  auto cursor = Cursor::Open(txn, versions());
  if (!cursor.ok()) return cursor.status();
  std::string entry;
  for (const auto& [offset, i] : order) {
    const StatePut& p = puts[i];
    entry.clear();
    EncodeEntry(&entry, offset, links[i].first, links[i].second, p.ts_ms, p.revision, p.expires_at_ms, kPut,
                p.value);
    KISSVDB_RETURN_IF_ERROR(cursor->Append(VersionKey(offset, p.key), entry));
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
    KISSVDB_RETURN_IF_ERROR(DeletedHeads(txn, key, /*erase=*/false, &heads));
  }
  if (offset <= heads.newest()) return Status::Corruption("history: a deletion older than its key's versions");
  auto cursor = Cursor::Open(txn, versions());
  if (!cursor.ok()) return cursor.status();
  KISSVDB_RETURN_IF_ERROR(Append(*cursor, key, offset, &heads, ts_ms, 0, 0, KindOf(reason), ""));
  return SetDeletedHeads(txn, key, heads);
}

Status StateHistory::Seed(Txn& txn, uint64_t offset, uint64_t ts_ms) {
  constexpr uint32_t kPage = 1000;
  KISSVDB_RETURN_IF_ERROR(ClearDeleted(txn));
  auto cursor = Cursor::Open(txn, versions());
  if (!cursor.ok()) return cursor.status();
  auto state = state_.OpenCursor(txn);
  if (!state.ok()) return state.status();
  std::vector<StateRecord> page;
  for (std::string after;; after = page.back().key) {
    page.clear();
    // now_ms 0: every record, with a TTL or not (reads judge TTLs).
    KISSVDB_RETURN_IF_ERROR(state_.List(txn, "", after, kPage, 0, &page));
    for (const StateRecord& r : page) {
      VersionHeads heads;
      KISSVDB_RETURN_IF_ERROR(
          Append(*cursor, r.key, offset, &heads, ts_ms, r.revision, r.expires_at_ms, kPut, r.value_json));
      KISSVDB_RETURN_IF_ERROR(state_.Write(txn, *state, r.key, r.expires_at_ms, r.revision, r.expires_at_ms,
                                           r.value_json, heads.Encode()));
    }
    if (page.size() < kPage) break;
  }
  return Status::OK();
}

}  // namespace kissvdb::kv
