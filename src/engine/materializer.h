// Materializer: applies log events to the stores, in offset order.
//
// ApplyToTxn is the single definition of what an event means for the
// LMDB-backed stores; the commit thread calls it for new events and boot
// calls it to replay the log tail, so both paths produce identical state.
// The last applied offset is stored in the same LMDB transaction as the
// changes ("meta" database), which makes replay exactly-once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "doc/doc_history.h"
#include "doc/doc_store.h"
#include "engine/auth_keys.h"
#include "engine/state_record.h"
#include "kissvdb/event.h"
#include "kissvdb/status.h"
#include "kv/lmdb.h"
#include "kv/state_history.h"
#include "kv/state_store.h"
#include "kv/tx_key_store.h"
#include "text/text_defs.h"
#include "text/text_index.h"
#include "vector/vector_store.h"

namespace kissvdb {

class Materializer {
 public:
  // Opens (creating) every named database in one write transaction.
  static Result<std::unique_ptr<Materializer>> Open(kv::LmdbEnv& env);

  kv::LmdbEnv& env() const { return env_; }
  const kv::StateStore& state() const { return state_; }
  const doc::DocStore& docs() const { return *docs_; }
  const auth_keys::AuthKeyStore& auth_keys() const { return *auth_keys_; }
  const auth_keys::AuthKeyIndex& auth_index() const { return auth_index_; }
  const text::TextDefs& text_defs() const { return *text_defs_; }
  const kv::TxKeyStore& tx_keys() const { return *tx_keys_; }
  // Versions of KV keys (their heads are in the state records).
  const kv::StateHistory& state_history() const { return *state_history_; }
  // Versions of documents, keyed by doc::DocHistory::Key(collection, id).
  const doc::DocHistory& doc_history() const { return *doc_history_; }
  // How long an idempotency key is kept (config.tx_idempotency_window_ms);
  // part of what the events mean, so set it before any apply.
  void set_tx_window_ms(uint64_t ms) { tx_window_ms_ = ms; }
  uint64_t tx_window_ms() const { return tx_window_ms_; }
  // Whether events write versions into the history tables
  // (history_retention != off); set before any apply.
  void set_history(bool on) { history_ = on; }
  bool history() const { return history_; }
  // Writes the present of every key and document as a version at
  // `offset`: the start of a history that did not follow every event
  // (created in an upgraded directory, or turned back on).
  Status SeedHistory(kv::Txn& txn, uint64_t offset, uint64_t ts_ms, bool keys, bool docs);
  // Rebuilds the in-memory key index from LMDB (boot, after replay).
  Status LoadAuthIndex();

  // Applies one event to the LMDB-backed stores inside `txn`. Event types
  // no store knows (user events) are ignored: they live only in the log.
  Status ApplyToTxn(kv::Txn& txn, const Event& event);

  // The boot replay's fast path: applies the `state_updated` records a
  // replay read from their bytes (engine/state_record.h; the stored value is
  // the payload's "value" text as it is), as ApplyToTxn would apply each
  // parsed event in offset order, and empties the batch. The puts are
  // written in key order; per key only the newest reaches the state table
  // (each replaces the whole record and its TTL entry), every one becomes a
  // version. The caller applies the batch before any other event.
  Status ApplyStatePuts(kv::Txn& txn, StatePutBatch* batch);

  // Applies one event to the in-memory stores (vector indexes, the API key
  // index). Called after
  // the event is durable and committed to LMDB, in offset order. The stores
  // skip events they already hold (their files were saved past it).
  Status ApplyInMemory(const Event& event);
  void set_vectors(vector::VectorStore* vectors) { vectors_ = vectors; }

  // Applies a durable group to the text index (after ApplyInMemory, so the
  // stores it builds new indexes from already hold the group).
  Status ApplyText(const std::vector<Event>& events);
  void set_text(text::TextIndex* text) { text_ = text; }
  // The text index's Source: the current items of a vector collection (from
  // the vector store) or documents of a document collection (from LMDB).
  Status ForEachTextItem(text::Target target, const std::string& collection,
                         const text::TextIndex::ItemSink& sink) const;

  Result<uint64_t> AppliedOffset(const kv::Txn& txn) const;
  Status SetAppliedOffset(kv::Txn& txn, uint64_t offset);

  // SHA-less but strong-enough digest (two independent 64-bit hashes) over
  // every key and value of every named database, in key order.
  Result<std::string> Digest(const kv::Txn& txn) const;

 private:
  Materializer(kv::LmdbEnv& env, kv::StateStore state, MDB_dbi meta)
      : env_(env), state_(state), meta_(meta) {}
  kv::LmdbEnv& env_;
  kv::StateStore state_;
  MDB_dbi meta_;
  std::optional<doc::DocStore> docs_;  // set by Open
  std::optional<auth_keys::AuthKeyStore> auth_keys_;  // set by Open
  std::optional<text::TextDefs> text_defs_;           // set by Open
  std::optional<kv::TxKeyStore> tx_keys_;             // set by Open
  Status ApplyStatePut(kv::Txn& txn, std::string_view key, uint64_t offset, uint64_t ts_ms, uint64_t revision,
                       uint64_t expires, std::string_view value);

  std::optional<kv::StateHistory> state_history_;     // set by Open
  std::optional<doc::DocHistory> doc_history_;        // set by Open
  uint64_t tx_window_ms_ = 24ull * 3600 * 1000;
  bool history_ = true;
  auth_keys::AuthKeyIndex auth_index_;
  vector::VectorStore* vectors_ = nullptr;
  text::TextIndex* text_ = nullptr;
};

}  // namespace kissvdb
