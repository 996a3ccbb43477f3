// Engine: user events (append with optimistic concurrency, paged reads).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine/engine_impl.h"
#include "engine/event_ops.h"

namespace kissvdb {

void EngineImpl::AppendEvent(std::string type, Json data, std::optional<uint64_t> expected_offset,
                             Callback<Event> done) {
  Status st = event_ops::ValidateType(type);
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
