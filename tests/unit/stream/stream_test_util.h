// Fakes for the change-stream unit tests: an in-memory log (EventSource), a
// sink that records what it is sent and can stall like a slow client, and
// an SSE frame parser.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "stream/sink.h"

namespace kissvdb::stream::testing {

// An in-memory log: Append assigns offsets; Read honours retention.
class FakeLog : public EventSource {
 public:
  // Appends `n` events of `type`, data {"key": key_of(i), "i": i}; returns them.
  std::vector<Event> Append(size_t n, const std::string& type = "state_updated",
                            std::function<Json(uint64_t)> data = nullptr) {
    std::lock_guard lk(mu_);
    std::vector<Event> out;
    for (size_t i = 0; i < n; ++i) {
      Event ev;
      ev.offset = events_.size() + 1;
      ev.ts_ms = 1000 + ev.offset;
      ev.type = type;
      ev.data = data ? data(ev.offset) : Json{{"key", "k" + std::to_string(ev.offset)}};
      events_.push_back(ev);
      out.push_back(ev);
    }
    return out;
  }
  void set_first_offset(uint64_t first) {
    std::lock_guard lk(mu_);
    first_ = first;
  }
  void set_read_error(Status st) {
    std::lock_guard lk(mu_);
    read_error_ = std::move(st);
  }

  Result<std::vector<Event>> Read(uint64_t since, uint32_t limit) const override {
    std::lock_guard lk(mu_);
    if (!read_error_.ok()) return read_error_;
    if (since + 1 < first_) return Status(Code::kGone, "compacted");
    std::vector<Event> out;
    for (uint64_t off = since + 1; off <= events_.size() && out.size() < limit; ++off) out.push_back(events_[off - 1]);
    return out;
  }
  uint64_t first_offset() const override {
    std::lock_guard lk(mu_);
    return first_;
  }
  uint64_t last_offset() const override {
    std::lock_guard lk(mu_);
    return events_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;
  uint64_t first_ = 1;
  Status read_error_;
};

struct SseFrame {
  std::string event;  // "" for a comment
  std::optional<uint64_t> id;
  std::string data;
  std::string comment;
  Json json() const { return Json::parse(data); }
};

// Splits complete frames off the front of `text`.
inline std::vector<SseFrame> ParseFrames(const std::string& text) {
  std::vector<SseFrame> out;
  size_t pos = 0;
  while (true) {
    const size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) break;
    SseFrame f;
    size_t line_start = pos;
    while (line_start < end) {
      size_t nl = text.find('\n', line_start);
      if (nl == std::string::npos || nl > end) nl = end;
      const std::string line = text.substr(line_start, nl - line_start);
      if (line.rfind(":", 0) == 0) {
        f.comment = line.substr(1);
      } else if (line.rfind("event: ", 0) == 0) {
        f.event = line.substr(7);
      } else if (line.rfind("id: ", 0) == 0) {
        f.id = std::stoull(line.substr(4));
      } else if (line.rfind("data: ", 0) == 0) {
        f.data = line.substr(6);
      }
      line_start = nl + 1;
    }
    out.push_back(std::move(f));
    pos = end + 2;
  }
  return out;
}

// Records everything sent. Stalled: nothing is "written" (queued_bytes grows
// like a client that stopped reading).
class FakeSink : public Sink {
 public:
  bool Send(std::string chunk) override {
    std::lock_guard lk(mu_);
    if (closed_) return false;
    data_ += chunk;
    if (stalled_) queued_ += chunk.size();
    if (write_delay_.count() > 0) in_flight_.emplace_back(std::chrono::steady_clock::now(), chunk.size());
    ++sends_;
    cv_.notify_all();
    return true;
  }
  size_t queued_bytes() const override {
    std::lock_guard lk(mu_);
    size_t slow = 0;
    const auto written_before = std::chrono::steady_clock::now() - write_delay_;
    for (const auto& [at, bytes] : in_flight_) {
      if (at > written_before) slow += bytes;
    }
    return queued_ + slow;
  }
  void Close() override {
    std::function<void()> fn;
    {
      std::lock_guard lk(mu_);
      if (closed_) return;
      closed_ = true;
      fn = std::move(on_close_);
      cv_.notify_all();
    }
    if (fn) fn();
  }
  bool closed() const override {
    std::lock_guard lk(mu_);
    return closed_;
  }
  void OnClose(std::function<void()> fn) override {
    {
      std::lock_guard lk(mu_);
      if (!closed_) {
        on_close_ = std::move(fn);
        return;
      }
    }
    fn();
  }

  void set_stalled(bool stalled) {
    std::lock_guard lk(mu_);
    stalled_ = stalled;
    if (!stalled) queued_ = 0;
  }
  // Each chunk counts as unwritten for `delay` after it is sent (an io
  // thread that is behind).
  void set_write_delay(std::chrono::milliseconds delay) {
    std::lock_guard lk(mu_);
    write_delay_ = delay;
  }
  size_t sends() const {
    std::lock_guard lk(mu_);
    return sends_;
  }
  std::string data() const {
    std::lock_guard lk(mu_);
    return data_;
  }
  std::vector<SseFrame> frames() const { return ParseFrames(data()); }
  // Event frames only (frames with an id and a record).
  std::vector<uint64_t> ids() const {
    std::vector<uint64_t> out;
    for (const auto& f : frames()) {
      if (f.id && f.event != "gap") out.push_back(*f.id);
    }
    return out;
  }
  // Waits until the sink is closed or the timeout passes.
  bool WaitClosed(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return closed_; });
  }
  // Waits until pred(frames) holds or the timeout passes.
  bool WaitFor(const std::function<bool(const std::vector<SseFrame>&)>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lk(mu_);
    while (true) {
      std::string copy = data_;
      lk.unlock();
      if (pred(ParseFrames(copy))) return true;
      lk.lock();
      if (cv_.wait_until(lk, deadline) == std::cv_status::timeout) {
        std::string last = data_;
        lk.unlock();
        return pred(ParseFrames(last));
      }
    }
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string data_;
  size_t queued_ = 0;
  size_t sends_ = 0;
  std::chrono::milliseconds write_delay_{0};
  std::vector<std::pair<std::chrono::steady_clock::time_point, size_t>> in_flight_;
  bool stalled_ = false;
  bool closed_ = false;
  std::function<void()> on_close_;
};

// The ids 1..n (or from..to).
inline std::vector<uint64_t> Range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

}  // namespace kissvdb::stream::testing
