// User events' validation, shared by /v1/events and transactions.
#pragma once

#include <string>

#include "kissvdb/status.h"

namespace kissvdb::event_ops {

// 1..128 of [A-Za-z0-9_.:-], and not a type the built-in models or the
// change stream use (state_*, doc_*, vector_*, sql*, _sys.*, gap, ...).
Status ValidateType(const std::string& type);

}  // namespace kissvdb::event_ops
