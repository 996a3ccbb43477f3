// Tests of util/metrics (kept with the http tests, which link kissvdb_util).
#include "util/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace kissvdb {
namespace {

TEST(MetricsTest, CountersAndGaugesRender) {
  Metrics m;
  m.counter("state_put_total", {}, "State puts.").Inc();
  m.counter("state_put_total").Inc(2);
  Gauge& g = m.gauge("sse_clients");
  g.Inc();
  g.Inc();
  g.Dec();
  EXPECT_EQ(m.counter("state_put_total").value(), 3u);
  EXPECT_EQ(&m.counter("state_put_total"), &m.counter("state_put_total"));
  EXPECT_EQ(m.RenderPrometheus(),
            "# TYPE sse_clients gauge\n"
            "sse_clients 1\n"
            "# HELP state_put_total State puts.\n"
            "# TYPE state_put_total counter\n"
            "state_put_total 3\n");
}

TEST(MetricsTest, LabelsAreSortedAndEscaped) {
  Metrics m;
  m.counter("req_total", {{"status", "200"}, {"route", "a"}}).Inc();
  // Same labels in another order: the same series.
  m.counter("req_total", {{"route", "a"}, {"status", "200"}}).Inc();
  m.counter("req_total", {{"route", "q\"x\\y\nz"}, {"status", "404"}}).Inc();
  const std::string text = m.RenderPrometheus();
  EXPECT_NE(text.find("req_total{route=\"a\",status=\"200\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("req_total{route=\"q\\\"x\\\\y\\nz\",status=\"404\"} 1\n"), std::string::npos) << text;
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Metrics m;
  Histogram& h = m.histogram("latency_seconds", {{"route", "r"}}, {0.1, 1.0});
  h.Observe(0.05);
  h.Observe(0.1);  // on the bound: counted in le="0.1"
  h.Observe(0.5);
  h.Observe(7);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 7.65);
  EXPECT_EQ(m.RenderPrometheus(),
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{route=\"r\",le=\"0.1\"} 2\n"
            "latency_seconds_bucket{route=\"r\",le=\"1\"} 3\n"
            "latency_seconds_bucket{route=\"r\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{route=\"r\"} 7.65\n"
            "latency_seconds_count{route=\"r\"} 4\n");
}

TEST(MetricsTest, DefaultLatencyBucketsRenderPlainly) {
  Metrics m;
  m.histogram("h").Observe(0.0002);
  const std::string text = m.RenderPrometheus();
  EXPECT_NE(text.find("h_bucket{le=\"0.0001\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_bucket{le=\"0.00025\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_bucket{le=\"10\"} 1\n"), std::string::npos) << text;
}

TEST(MetricsTest, TypeMismatchReturnsDetachedSeries) {
  Metrics m;
  m.counter("x_total").Inc();
  Gauge& g = m.gauge("x_total");  // logged; not rendered
  g.Set(42);
  const std::string text = m.RenderPrometheus();
  EXPECT_NE(text.find("x_total 1\n"), std::string::npos);
  EXPECT_EQ(text.find("42"), std::string::npos);
}

TEST(MetricsTest, ConcurrentUpdatesAreCounted) {
  Metrics m;
  Counter& c = m.counter("c_total");
  Histogram& h = m.histogram("h_seconds");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m, &c, &h] {
      for (int i = 0; i < 10000; ++i) {
        c.Inc();
        h.Observe(0.001);
        if (i % 1000 == 0) m.counter("c_total", {{"t", "x"}}).Inc();  // lookups race with updates
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_EQ(m.counter("c_total", {{"t", "x"}}).value(), 40u);
}

TEST(MetricsTest, GlobalIsOneRegistry) {
  EXPECT_EQ(&Metrics::Global(), &Metrics::Global());
  Counter& c = Metrics::Global().counter("metrics_test_total");
  c.Inc();
  const std::string line = "metrics_test_total " + std::to_string(c.value()) + "\n";
  EXPECT_NE(Metrics::Global().RenderPrometheus().find(line), std::string::npos);
}

}  // namespace
}  // namespace kissvdb
