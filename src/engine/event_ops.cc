#include "engine/event_ops.h"

namespace kissvdb::event_ops {

namespace {
// Types the built-in models and the change stream use; users may not forge them.
bool IsReservedType(const std::string& type) {
  static const char* kPrefixes[] = {"state_", "doc_", "vector_", "sql", "_sys."};
  for (const char* p : kPrefixes) {
    if (type.rfind(p, 0) == 0) return true;
  }
  return type == "gap" || type == "checkpoint" || type == "compacted";
}
}  // namespace

Status ValidateType(const std::string& type) {
  if (type.empty() || type.size() > 128) return Status::InvalidArgument("type must be 1..128 characters");
  for (char c : type) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.' || c == ':';
    if (!ok) return Status::InvalidArgument("type may contain only letters, digits and _ - . :");
  }
  if (IsReservedType(type)) return Status::InvalidArgument("type '" + type + "' is reserved for built-in events");
  return Status::OK();
}

}  // namespace kissvdb::event_ops
