// The JSON text clients get for an event (the change stream, /v1/log),
// written without building a tree for its vector: a vector record's floats
// (Event::floats) appear as data.vector in their shortest float form, after
// the data's other members (where nlohmann's sorted keys put "vector").
#pragma once

#include <string>

#include "kissvdb/event.h"

namespace kissvdb {

// `data` as clients see it (Event::ClientData() as text); invalid UTF-8,
// which validation keeps out of the log, is replaced rather than thrown on.
void AppendEventData(const Event& event, std::string* out);

// {"offset","ts_ms","type","data"} plus "tx" for an event of a unit of
// several, in that order (the original system's).
void AppendEventJson(const Event& event, std::string* out);

}  // namespace kissvdb
