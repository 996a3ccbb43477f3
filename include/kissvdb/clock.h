// Clock: the engine's only source of time, so TTL and crash tests control it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace kissvdb {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual uint64_t NowMs() const = 0;
  // The real wall clock; lives forever.
  static Clock* System();
};

// A clock that moves only when told to (tests).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t start_ms) : now_(start_ms) {}
  uint64_t NowMs() const override { return now_.load(); }
  void Advance(uint64_t ms) { now_ += ms; }
  void Set(uint64_t ms) { now_ = ms; }

 private:
  std::atomic<uint64_t> now_;
};

}  // namespace kissvdb
