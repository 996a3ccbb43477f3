#include "stream/frame.h"

#include "util/event_json.h"
#include "util/json_writer.h"

namespace kissvdb::stream {

namespace {

// One line of JSON; invalid UTF-8 (which validation should never let into
// the log) is replaced rather than thrown on.
std::string Dump(const Json& value) { return DumpJson(value); }

std::optional<std::string> StringField(const Json& data, const char* name) {
  if (!data.is_object()) return std::nullopt;
  auto it = data.find(name);
  if (it == data.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::string Synthetic(std::string_view type, const Json& data) {
  std::string out;
  out.append("event: ").append(type).append("\ndata: ").append(Dump(data)).append("\n\n");
  return out;
}

}  // namespace

EventFields FieldsOf(const Event& event) {
  return EventFields{event.type, StringField(event.data, "key"), StringField(event.data, "collection")};
}

std::string RenderEvent(const Event& event) {
  std::string out;
  out.reserve(96 + 2 * event.type.size() + event.floats.size() * 12);
  out.append("event: ").append(event.type);
  out.append("\nid: ").append(std::to_string(event.offset));
  out.append("\ndata: ");
  AppendEventJson(event, &out);  // the record's fields in the original system's order
  out.append("\n\n");
  return out;
}

Frame MakeFrame(const Event& event) { return Frame{event.offset, FieldsOf(event), RenderEvent(event)}; }

std::string RenderCheckpoint(uint64_t offset) { return Synthetic("checkpoint", Json{{"offset", offset}}); }

std::string RenderGap(uint64_t resume_since, uint64_t head) {
  // With an id line, so an EventSource reconnects from exactly here.
  std::string out = "event: gap\nid: " + std::to_string(resume_since) + "\ndata: ";
  Json data = Json::object();
  data["reason"] = "slow_consumer";
  data["resume_since"] = resume_since;
  data["from_offset"] = resume_since + 1;
  data["to_offset"] = head;
  out.append(Dump(data)).append("\n\n");
  return out;
}

std::string RenderCompacted(uint64_t requested_since, uint64_t oldest_available) {
  const uint64_t resume = oldest_available > 0 ? oldest_available - 1 : 0;
  return Synthetic("compacted", Json{{"requested_since", requested_since},
                                     {"oldest_available", oldest_available},
                                     {"resume_since", resume}});
}

std::string RenderError(const Status& status) {
  return Synthetic("error", Json{{"error", std::string(CodeName(status.code()))}, {"message", status.message()}});
}

}  // namespace kissvdb::stream
