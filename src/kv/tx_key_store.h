// TxKeyStore: the idempotency keys of committed transactions
// (docs/transactions.md), derived from `_sys.tx_committed` events like every
// LMDB store, so a replay of the log rebuilds it.
//
//   tx_keys          key -> {"ts_ms":T,"fingerprint":F,"result":{...}}
//   tx_keys_by_time  8-byte big-endian ts_ms + key -> ""   (oldest first)
//
// A key is remembered for `window_ms` after its commit. Applying an event
// also forgets keys whose window ended before that event's time, a few per
// event, so the space stays bounded without a sweeper and without reading a
// clock (replay stays deterministic for a given window).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kissvdb/event.h"
#include "kissvdb/status.h"
#include "kv/lmdb.h"

namespace kissvdb::kv {

class TxKeyStore {
 public:
  struct Entry {
    uint64_t ts_ms = 0;
    std::string fingerprint;
    Json result;
  };

  static Result<TxKeyStore> Open(Txn& txn);
  static bool Handles(std::string_view event_type);

  // Stores the event's key ({idempotency_key, fingerprint, result}) and
  // forgets keys committed more than window_ms before the event.
  Status ApplyEvent(Txn& txn, const Event& event, uint64_t window_ms) const;

  // The key's entry if it was committed at most window_ms before now_ms.
  Result<std::optional<Entry>> Get(const Txn& txn, std::string_view key, uint64_t now_ms,
                                   uint64_t window_ms) const;

 private:
  TxKeyStore(MDB_dbi keys, MDB_dbi by_time) : keys_(keys), by_time_(by_time) {}
  MDB_dbi keys_;
  MDB_dbi by_time_;
};

}  // namespace kissvdb::kv
