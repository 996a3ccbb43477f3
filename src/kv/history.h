// A version of an item of a model, as reads of the past see it
// (docs/history.md; kv/offset_history.h keeps them).
#pragma once

#include <cstdint>
#include <string>


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

}  // namespace kissvdb::kv
