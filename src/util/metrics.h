// Metrics: a tiny Prometheus registry (counters, gauges, histograms).
//
// A series is a metric name plus a label set. Looking a series up takes the
// registry mutex; updating one never does (atomics only), so callers look a
// series up once and keep the reference, which stays valid for the life of
// the registry:
//
//   static Counter& puts = Metrics::Global().counter("state_put_total");
//   puts.Inc();
//
// RenderPrometheus() writes the text exposition format 0.0.4, families sorted
// by name and series by label set, so the output is stable for tests.
//
// Thread-safety: every method is safe to call from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kissvdb {

// Label name/value pairs, e.g. {{"route", "state.get"}, {"status", "200"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count.
class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (open connections, SSE clients). Integral:
// every gauge we export counts things.
class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void Inc() { Add(1); }
  void Dec() { Add(-1); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Observations counted into fixed buckets (upper bounds, ascending; +Inf is
// implicit), plus their sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);

  void Observe(double v);

  const std::vector<double>& upper_bounds() const { return bounds_; }
  // Cumulative count of observations <= upper_bounds()[i]; i == size() is +Inf.
  uint64_t cumulative_count(size_t i) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The process-wide registry that /v1/metrics renders.
  static Metrics& Global();

  // Seconds: 100 µs .. 10 s, for request latency.
  static std::vector<double> LatencyBuckets();

  // Returns the series, creating it (at zero) on first use. `help` is kept
  // from the first call that gives one. Asking for an existing name with a
  // different type is a programming error: it is logged and a detached
  // series is returned, so the caller still works.
  Counter& counter(std::string_view name, const Labels& labels = {}, std::string_view help = {});
  Gauge& gauge(std::string_view name, const Labels& labels = {}, std::string_view help = {});
  // `upper_bounds` applies when the series is created (empty = LatencyBuckets()).
  Histogram& histogram(std::string_view name, const Labels& labels = {},
                       std::vector<double> upper_bounds = {}, std::string_view help = {});

  // Prometheus text format, version 0.0.4.
  std::string RenderPrometheus() const;

 private:
  struct Family;
  Family& FamilyFor(std::string_view name, int type, std::string_view help);  // REQUIRES: mu_ held

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
};

}  // namespace kissvdb
