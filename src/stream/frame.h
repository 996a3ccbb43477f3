// Frames: the server-sent-event wire form of the change stream
// (docs/stream.md). Every frame is complete ("...\n\n") and its data is one
// line of JSON, so frames concatenate into one chunk.
//
//   event: <type>          an event of the log
//   id: <offset>
//   data: {"offset":N,"ts_ms":T,"type":"<type>","data":{...}[,"tx":F]}
//                          (tx: the first offset of the event's atomic unit)
//
//   event: checkpoint      synthetic, no id: every matching event up to
//   data: {"offset":N}     `offset` was delivered (quiet filtered feeds)
//
//   event: gap             synthetic, last frame: the client was too slow;
//   id: <resume_since>     resume with since / Last-Event-ID = resume_since
//   data: {"reason":"slow_consumer","resume_since":N,"from_offset":N+1,"to_offset":H}
//
//   event: compacted       synthetic, last frame: `since` is older than the
//   data: {"requested_since":S,"oldest_available":F,"resume_since":F-1}
//
//   event: error           synthetic, last frame: the log could not be read
//   data: {"error":"<code>","message":"..."}
//
//   :keepalive             comment, when nothing else was sent for a while
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kissvdb/event.h"
#include "kissvdb/status.h"

namespace kissvdb::stream {

// What filters look at, extracted once per event.
struct EventFields {
  std::string type;
  std::optional<std::string> key;         // data.key when it is a string
  std::optional<std::string> collection;  // data.collection when it is a string
};

EventFields FieldsOf(const Event& event);

// "event: <type>\nid: <offset>\ndata: <record>\n\n".
std::string RenderEvent(const Event& event);

// One committed event, rendered once and shared by every subscriber.
struct Frame {
  uint64_t offset = 0;
  EventFields fields;
  std::string sse;
};

Frame MakeFrame(const Event& event);

inline constexpr std::string_view kKeepalive = ":keepalive\n\n";

std::string RenderCheckpoint(uint64_t offset);
// `resume_since`: every offset up to it was queued before the gap; `head`:
// the newest offset committed when the subscriber was cut off.
std::string RenderGap(uint64_t resume_since, uint64_t head);
std::string RenderCompacted(uint64_t requested_since, uint64_t oldest_available);
std::string RenderError(const Status& status);

}  // namespace kissvdb::stream
