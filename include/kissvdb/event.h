// Event: one record of the log, the unit of change of every model.
//
// The log orders everything: every KV write, document write, vector change
// and user event becomes one Event with a global offset that starts at 1 and
// rises by exactly one. `data` carries the full resulting state of what
// changed (e.g. a KV put carries the new revision and expiry), so applying an
// event never needs to consult a clock or re-run validation, and replaying
// the log is deterministic.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kissvdb {

using Json = nlohmann::json;

struct Event {
  uint64_t offset = 0;  // assigned by the log; 0 until committed
  uint64_t ts_ms = 0;   // wall-clock time at commit, informational only
  std::string type;     // "state_updated", "doc_updated", user types, ...
  Json data;            // type-specific payload, always a JSON object
  // Atomic units (docs/wal-format.md): the events of one transaction or
  // atomic batch are committed all or nothing. `tx` is the offset of the
  // unit's first event when the unit holds more than one event, else 0;
  // `tx_more` is set on every event of such a unit but its last.
  uint64_t tx = 0;
  bool tx_more = false;
  // A vector record's vector (vector_added/upserted/updated), kept out of
  // `data` so that it is logged as float32 bytes (docs/wal-format.md,
  // version 3) and never goes through JSON on the write path. Clients see
  // it as `data.vector` (util/event_json.h). Empty for every other event.
  std::vector<float> floats;

  // `data` as clients see it: with "vector" (as JSON doubles) when the
  // event carries floats.
  Json ClientData() const {
    if (floats.empty() || !data.is_object()) return data;
    Json d = data;
    Json v = Json::array();
    v.get_ref<Json::array_t&>().reserve(floats.size());
    for (float f : floats) v.push_back(static_cast<double>(f));
    d["vector"] = std::move(v);
    return d;
  }

  // {"offset","ts_ms","type","data"} plus "tx" for an event of a unit of
  // several, as a tree (util/event_json.h writes the same object as text,
  // with vectors in their shortest float form).
  Json ToJson() const {
    Json j{{"offset", offset}, {"ts_ms", ts_ms}, {"type", type}, {"data", ClientData()}};
    if (tx != 0) j["tx"] = tx;
    return j;
  }
};

// Event types written by the built-in models.
namespace event_type {
inline constexpr const char* kStateUpdated = "state_updated";
inline constexpr const char* kStateDeleted = "state_deleted";
inline constexpr const char* kDocUpdated = "doc_updated";
inline constexpr const char* kDocDeleted = "doc_deleted";
inline constexpr const char* kDocCollectionDropped = "doc_collection_dropped";
inline constexpr const char* kVectorCollectionCreated = "vector_collection_created";
inline constexpr const char* kVectorCollectionDropped = "vector_collection_dropped";
inline constexpr const char* kVectorAdded = "vector_added";
inline constexpr const char* kVectorUpserted = "vector_upserted";
inline constexpr const char* kVectorUpdated = "vector_updated";
inline constexpr const char* kVectorDeleted = "vector_deleted";
// Text indexes (docs/search.md): {collection, fields, tokenizer} / {collection}.
// A vector_collection_created event may carry "text": {fields, tokenizer}.
inline constexpr const char* kVectorTextIndexSet = "vector_text_index_set";
inline constexpr const char* kVectorTextIndexDropped = "vector_text_index_dropped";
inline constexpr const char* kDocTextIndexSet = "doc_text_index_set";
inline constexpr const char* kDocTextIndexDropped = "doc_text_index_dropped";
inline constexpr const char* kSql = "sql";

// The server's own bookkeeping (API keys). These events replay like any
// other, but carry secrets (key digests): clients (change stream, /v1/log)
// must get them through ForClients below, which drops the digest. Users cannot append them.
inline constexpr std::string_view kSystemPrefix = "_sys.";
inline constexpr const char* kAuthKeyCreated = "_sys.auth_key_created";  // {id,name,role,permissions,hash,created_at_ms}
inline constexpr const char* kAuthKeyRevoked = "_sys.auth_key_revoked";  // {id, revoked_at_ms}
// The last event of a transaction with an idempotency key (docs/transactions.md):
// {idempotency_key, fingerprint, result}.
inline constexpr const char* kTxCommitted = "_sys.tx_committed";
inline bool IsSystem(std::string_view type) { return type.substr(0, kSystemPrefix.size()) == kSystemPrefix; }
// The events whose vector travels in Event::floats.
inline bool CarriesVector(std::string_view type) {
  return type == kVectorAdded || type == kVectorUpserted || type == kVectorUpdated;
}
}  // namespace event_type

// The form of an event a client may see: system events keep their offset
// and type (offsets stay contiguous) but lose every secret field.
inline Event ForClients(Event event) {
  if (event_type::IsSystem(event.type) && event.data.is_object()) event.data.erase("hash");
  return event;
}

}  // namespace kissvdb
