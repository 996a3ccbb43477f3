#include "util/event_json.h"

#include "util/json_writer.h"

namespace kissvdb {

void AppendEventData(const Event& event, std::string* out) {
  const size_t start = out->size();
  AppendJson(event.data, out);
  if (event.floats.empty() || !event.data.is_object()) return;
  out->pop_back();  // the object's '}'
  if (out->size() - start > 1) out->push_back(',');
  out->append("\"vector\":[");
  out->reserve(out->size() + event.floats.size() * 12 + 2);
  for (size_t i = 0; i < event.floats.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonFloat(event.floats[i], out);
  }
  out->append("]}");
}

void AppendEventJson(const Event& event, std::string* out) {
  out->append("{\"offset\":").append(std::to_string(event.offset));
  out->append(",\"ts_ms\":").append(std::to_string(event.ts_ms));
  out->append(",\"type\":");
  AppendJsonString(event.type, out);
  out->append(",\"data\":");
  AppendEventData(event, out);
  if (event.tx != 0) out->append(",\"tx\":").append(std::to_string(event.tx));
  out->push_back('}');
}

}  // namespace kissvdb
