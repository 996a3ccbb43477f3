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

#include <nlohmann/json.hpp>

namespace kissvdb {

using Json = nlohmann::json;

struct Event {
  uint64_t offset = 0;  // assigned by the log; 0 until committed
  uint64_t ts_ms = 0;   // wall-clock time at commit, informational only
  std::string type;     // "state_updated", "doc_updated", user types, ...
  Json data;            // type-specific payload, always a JSON object

  // {"offset","ts_ms","type","data"}: the wire form used by SSE and /v1/events.
  Json ToJson() const {
    return Json{{"offset", offset}, {"ts_ms", ts_ms}, {"type", type}, {"data", data}};
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
inline constexpr const char* kSql = "sql";
}  // namespace event_type

}  // namespace kissvdb
