// EngineEventSource: the Engine as the change stream's EventSource.
// Header-only: it calls the Engine interface only, so kissvdb_stream needs
// no link dependency on the engine (which depends on it).
#pragma once

#include "kissvdb/engine.h"
#include "stream/sink.h"

namespace kissvdb::stream {

class EngineEventSource final : public EventSource {
 public:
  // REQUIRES: `engine` outlives this object and is not closed while it is used.
  explicit EngineEventSource(const Engine& engine) : engine_(engine) {}

  Result<std::vector<Event>> Read(uint64_t since, uint32_t limit) const override {
    auto page = engine_.ReadEvents(since, limit);
    if (!page.ok()) return page.status();
    return std::move(page->events);
  }
  uint64_t first_offset() const override { return engine_.Stats().first_offset; }
  uint64_t last_offset() const override { return engine_.Stats().last_offset; }

 private:
  const Engine& engine_;
};

}  // namespace kissvdb::stream
