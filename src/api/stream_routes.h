// GET /v1/stream and GET /v1/events: the change stream as server-sent
// events (original-api.md section 3; the protocol and its guarantees are in
// docs/stream.md, the machinery in src/stream/broadcaster.h).
//
//   since=N | now     replay offsets > N (default 0: everything retained);
//                     `now` starts at the newest durable offset. A
//                     Last-Event-ID header overrides it. Past the newest
//                     offset: 400 (the position does not exist here).
//   types=a,b         exact event types
//   key_prefix=p      data.key starts with p (alias `prefix`, the original
//                     /v1/events name)
//   collection=c      data.collection equals c
//   checkpoint_secs=n checkpoint frames of a quiet filtered feed (default 5;
//                     0 = none)
//
// A `since` older than retention is not an HTTP error: the stream starts and
// its only frame is `compacted` naming the oldest available offset.
#pragma once

#include "api/api.h"

namespace kissvdb::api {

void StreamChanges(const ApiContext& ctx, Request& req, const Responder& res);

}  // namespace kissvdb::api
