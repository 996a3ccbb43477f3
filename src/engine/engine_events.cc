// Engine: user events (append with optimistic concurrency, paged reads).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine/engine_impl.h"

namespace kissvdb {

namespace {
// Types the built-in models and the change stream use; users may not forge them.
bool IsReservedType(const std::string& type) {
  static const char* kPrefixes[] = {"state_", "doc_", "vector_", "sql", "_sys."};
  for (const char* p : kPrefixes) {
    if (type.rfind(p, 0) == 0) return true;
  }
  return type == "gap" || type == "checkpoint" || type == "compacted";
}

Status ValidateEventType(const std::string& type) {
  if (type.empty() || type.size() > 128) return Status::InvalidArgument("type must be 1..128 characters");
  for (char c : type) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.' || c == ':';
    if (!ok) return Status::InvalidArgument("type may contain only letters, digits and _ - . :");
  }
  if (IsReservedType(type)) return Status::InvalidArgument("type '" + type + "' is reserved for built-in events");
  return Status::OK();
}
}  // namespace

void EngineImpl::AppendEvent(std::string type, Json data, std::optional<uint64_t> expected_offset,
                             Callback<Event> done) {
  Status st = ValidateEventType(type);
  if (!st.ok()) return done(st);
  auto result = std::make_shared<Event>();
  auto prepare = [type = std::move(type), data = std::move(data), expected_offset,
                  result](WriteContext& ctx) mutable -> Status {
    if (expected_offset && *expected_offset != ctx.last_offset()) {
      return Status(Code::kConflict, "expected_offset " + std::to_string(*expected_offset) +
                                         " but the log is at offset " + std::to_string(ctx.last_offset()));
    }
    KISSVDB_RETURN_IF_ERROR(ctx.Emit(type, data));
    *result = ctx.events().back();
    return Status::OK();
  };
  committer_->Submit(WriteRequest{std::move(prepare), [result, done = std::move(done)](Status st) {
                                    if (st.ok()) {
                                      done(std::move(*result));
                                    } else {
                                      done(st);
                                    }
                                  }});
}

void EngineImpl::AppendSystemEvent(std::string type, Json data) {
  committer_->Submit(WriteRequest{
      [type = std::move(type), data = std::move(data)](WriteContext& ctx) { return ctx.Emit(type, data); },
      [](Status st) {
        if (!st.ok()) spdlog::warn("system event not logged: {}", st.ToString());
      }});
}

Result<EventPage> EngineImpl::ReadEvents(uint64_t since, uint32_t limit) const {
  EventPage page;
  page.last_offset = log_->durable_offset();
  page.first_offset = log_->first_offset();
  if (since + 1 < page.first_offset) {
    return Status(Code::kGone, "events after offset " + std::to_string(since) +
                                   " were removed by retention; the oldest available offset is " +
                                   std::to_string(page.first_offset));
  }
  if (since >= page.last_offset || limit == 0) return page;
  uint64_t until = std::min(page.last_offset, since + limit);
  auto reader = log_->NewReader(since + 1, until);
  Event ev;
  while (reader->Next(&ev)) page.events.push_back(ForClients(std::move(ev)));
  KISSVDB_RETURN_IF_ERROR(reader->status());
  return page;
}

}  // namespace kissvdb
