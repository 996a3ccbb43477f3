// History: the versions of the items of one model, read as of a past offset
// (docs/history.md). Two layouts implement it:
//   StateHistory (kv/state_history.h)    KV keys: versions appended by offset,
//                                        found from heads in the state records
//   VersionHistory (kv/version_history.h) documents: versions by (key, offset)
// Both are written in the same LMDB transaction as the model they follow,
// and both keep a horizon: the first offset whose versions are all kept.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kissvdb/status.h"
#include "kv/lmdb.h"

namespace kissvdb::kv {

struct Version {
  uint64_t offset = 0;
  uint64_t ts_ms = 0;
  uint64_t revision = 0;  // 0 for a deletion
  uint64_t expires_at_ms = 0;
  bool deleted = false;
  std::string reason;  // deletions: "explicit", "ttl" or "drop"
  std::string value_json;
};

enum class DeleteReason { kExplicit, kTtl, kDrop };

class History {
 public:
  // The horizon of a history that keeps nothing (history_retention=off).
  static constexpr uint64_t kOff = UINT64_MAX;

  virtual ~History() = default;

  // The first offset whose versions are all kept.
  virtual Result<uint64_t> Horizon(const Txn& txn) const = 0;
  virtual Status SetHorizon(Txn& txn, uint64_t horizon) const = 0;
  // Deletes every version and the horizon.
  virtual Status Clear(Txn& txn) const = 0;

  // Pruning to `horizon`, in batches: keeps every version at or after it
  // and, per item, the newest version before it if that is a put (a read at
  // the horizon needs it). Collect walks from the position `*from` ("" =
  // the start) in any transaction, a read-only one so writers go on, and
  // appends what to delete, stopping after about `max_visits` versions;
  // *from is then where the next batch starts, "" when the walk is done.
  // The set stays right until the horizon is written: new versions come
  // after the applied offset, and the horizon is never above it. Prune
  // writes the horizon and deletes them, in one write transaction, so a
  // reader sees the versions or a horizon above its offset: a right answer
  // or 410, never a wrong one.
  virtual Status CollectPrunable(const Txn& txn, uint64_t horizon, uint32_t max_visits, std::string* from,
                                 std::vector<std::string>* doomed) const = 0;
  virtual Status Prune(Txn& txn, uint64_t horizon, const std::vector<std::string>& doomed) const = 0;

  // Versions kept and the bytes of their tables' pages.
  struct Space {
    uint64_t versions = 0;
    uint64_t bytes = 0;
  };
  virtual Result<Space> Usage(const Txn& txn) const = 0;

  // The newest version of `key` with offset <= at, if any.
  virtual Result<std::optional<Version>> At(const Txn& txn, std::string_view key, uint64_t at) const = 0;
  // The keys starting with `prefix` and after `after` (all when empty), in
  // key order, whose newest version with offset <= at is a put that
  // `visible` accepts (the caller judges TTLs), with that version; at most
  // limit.
  struct KeyVersion {
    std::string key;
    Version version;
  };
  using Visible = std::function<bool(const Version&)>;
  virtual Status ListAt(const Txn& txn, std::string_view prefix, std::string_view after, uint64_t at,
                        uint32_t limit, const Visible& visible, std::vector<KeyVersion>* out) const = 0;
  // Versions of `key` with offset < before, newest first, at most limit.
  virtual Status Versions(const Txn& txn, std::string_view key, uint64_t before, uint32_t limit,
                          std::vector<Version>* out) const = 0;
};

}  // namespace kissvdb::kv
