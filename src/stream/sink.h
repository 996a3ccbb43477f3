// Sink and EventSource: the two edges of the change stream, as small
// interfaces so src/stream depends on neither the HTTP layer nor the Engine
// implementation (the API layer adapts http::StreamSink, main.cc adapts the
// Engine; unit tests use fakes).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kissvdb/event.h"
#include "kissvdb/status.h"

namespace kissvdb::stream {

// One subscriber's connection. Thread-safe. Send never blocks: chunks are
// queued and written by the connection; queued_bytes() is what is queued
// and not yet handed to the socket, which is how the broadcaster sees a
// slow consumer.
class Sink {
 public:
  virtual ~Sink() = default;
  // Queues a chunk; false if the connection is already closed.
  virtual bool Send(std::string chunk) = 0;
  // The same chunk for many subscribers (a dispatcher pass): queued without
  // a copy where the connection can.
  virtual bool SendShared(std::shared_ptr<const std::string> chunk) { return Send(std::string(*chunk)); }
  virtual size_t queued_bytes() const = 0;
  // Flushes what is queued, then closes.
  virtual void Close() = 0;
  virtual bool closed() const = 0;
  // `fn` runs once when the connection closes for any reason, on any
  // thread (at once if it is already closed). Set before the first Send.
  virtual void OnClose(std::function<void()> fn) = 0;
};

// The durable history: the log, read in pages (the Engine, adapted by
// EngineEventSource in engine_source.h). Thread-safe.
class EventSource {
 public:
  virtual ~EventSource() = default;
  // Events with offset > since, in offset order, at most `limit`; empty when
  // `since` is at or past the newest durable offset. kGone when retention
  // removed events after `since`.
  virtual Result<std::vector<Event>> Read(uint64_t since, uint32_t limit) const = 0;
  // The oldest offset still in the log.
  virtual uint64_t first_offset() const = 0;
  // The newest durable offset (0 for an empty log).
  virtual uint64_t last_offset() const = 0;
};

}  // namespace kissvdb::stream
