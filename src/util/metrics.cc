#include "util/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <spdlog/spdlog.h>

namespace kissvdb {

namespace {

enum Type { kCounter = 0, kGauge = 1, kHistogram = 2 };
constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};

void AppendDouble(std::string* out, double v) {
  if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  char buf[64];
  // "general" gives 0.0001 rather than the shorter 1e-04.
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general);
  out->append(buf, r.ptr);
}

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendEscaped(std::string* out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out->append("\\\\"); break;
      case '"': out->append("\\\""); break;
      case '\n': out->append("\\n"); break;
      default: out->push_back(c);
    }
  }
}

// `a="1",b="2"` with labels sorted by name: the series key and its rendering.
std::string LabelKey(const Labels& labels) {
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  std::string key;
  for (const auto& [name, value] : sorted) {
    if (!key.empty()) key.push_back(',');
    key.append(name);
    key.append("=\"");
    AppendEscaped(&key, value);
    key.push_back('"');
  }
  return key;
}

// name{labels[,extra]}
void AppendSeriesName(std::string* out, std::string_view name, std::string_view suffix,
                      const std::string& labels, std::string_view extra = {}) {
  out->append(name);
  out->append(suffix);
  if (labels.empty() && extra.empty()) return;
  out->push_back('{');
  out->append(labels);
  if (!labels.empty() && !extra.empty()) out->push_back(',');
  out->append(extra);
  out->push_back('}');
}

}  // namespace

// ---- Histogram ----

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  if (!bounds_.empty() && std::isinf(bounds_.back())) bounds_.pop_back();  // +Inf is implicit
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

uint64_t Histogram::cumulative_count(size_t i) const {
  uint64_t total = 0;
  for (size_t j = 0; j <= i && j <= bounds_.size(); ++j) {
    total += buckets_[j].load(std::memory_order_relaxed);
  }
  return total;
}

// ---- Registry ----

struct Metrics::Family {
  int type = kCounter;
  std::string help;
  std::vector<double> bounds;  // histograms
  // Keyed by LabelKey(); exactly one of the pointers is set.
  struct Series {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  std::map<std::string, Series> series;
  // Series handed out for a type mismatch; never rendered.
  std::vector<Series> detached;
};

Metrics::Metrics() = default;
Metrics::~Metrics() = default;

Metrics& Metrics::Global() {
  static Metrics* global = new Metrics();  // never destroyed: used until exit
  return *global;
}

std::vector<double> Metrics::LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
}

Metrics::Family& Metrics::FamilyFor(std::string_view name, int type, std::string_view help) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<Family>();
    family->type = type;
    it = families_.emplace(std::string(name), std::move(family)).first;
  }
  Family& family = *it->second;
  if (family.help.empty() && !help.empty()) family.help = std::string(help);
  return family;
}

Counter& Metrics::counter(std::string_view name, const Labels& labels, std::string_view help) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyFor(name, kCounter, help);
  if (family.type != kCounter) {
    spdlog::error("metric {} is a {}, not a counter", name, kTypeNames[family.type]);
    family.detached.emplace_back().counter = std::make_unique<Counter>();
    return *family.detached.back().counter;
  }
  auto& s = family.series[LabelKey(labels)];
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& Metrics::gauge(std::string_view name, const Labels& labels, std::string_view help) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyFor(name, kGauge, help);
  if (family.type != kGauge) {
    spdlog::error("metric {} is a {}, not a gauge", name, kTypeNames[family.type]);
    family.detached.emplace_back().gauge = std::make_unique<Gauge>();
    return *family.detached.back().gauge;
  }
  auto& s = family.series[LabelKey(labels)];
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& Metrics::histogram(std::string_view name, const Labels& labels,
                              std::vector<double> upper_bounds, std::string_view help) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyFor(name, kHistogram, help);
  if (upper_bounds.empty()) upper_bounds = LatencyBuckets();
  if (family.type != kHistogram) {
    spdlog::error("metric {} is a {}, not a histogram", name, kTypeNames[family.type]);
    family.detached.emplace_back().histogram = std::make_unique<Histogram>(std::move(upper_bounds));
    return *family.detached.back().histogram;
  }
  auto& s = family.series[LabelKey(labels)];
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(std::move(upper_bounds));
  return *s.histogram;
}

std::string Metrics::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out.reserve(4096);
  for (const auto& [name, family] : families_) {
    if (!family->help.empty()) {
      out.append("# HELP ").append(name).push_back(' ');
      for (char c : family->help) {  // help escapes only \ and newline
        if (c == '\\') out.append("\\\\");
        else if (c == '\n') out.append("\\n");
        else out.push_back(c);
      }
      out.push_back('\n');
    }
    out.append("# TYPE ").append(name).push_back(' ');
    out.append(kTypeNames[family->type]).push_back('\n');
    for (const auto& [labels, s] : family->series) {
      if (s.counter) {
        AppendSeriesName(&out, name, "", labels);
        out.push_back(' ');
        AppendInt(&out, static_cast<int64_t>(s.counter->value()));
        out.push_back('\n');
      } else if (s.gauge) {
        AppendSeriesName(&out, name, "", labels);
        out.push_back(' ');
        AppendInt(&out, s.gauge->value());
        out.push_back('\n');
      } else if (s.histogram) {
        const Histogram& h = *s.histogram;
        const auto& bounds = h.upper_bounds();
        uint64_t cumulative = 0;
        for (size_t i = 0; i <= bounds.size(); ++i) {
          cumulative = h.cumulative_count(i);
          std::string le = "le=\"";
          AppendDouble(&le, i < bounds.size() ? bounds[i] : INFINITY);
          le.push_back('"');
          AppendSeriesName(&out, name, "_bucket", labels, le);
          out.push_back(' ');
          AppendInt(&out, static_cast<int64_t>(cumulative));
          out.push_back('\n');
        }
        AppendSeriesName(&out, name, "_sum", labels);
        out.push_back(' ');
        AppendDouble(&out, h.sum());
        out.push_back('\n');
        // The +Inf bucket, read once above, so _count agrees with it.
        AppendSeriesName(&out, name, "_count", labels);
        out.push_back(' ');
        AppendInt(&out, static_cast<int64_t>(cumulative));
        out.push_back('\n');
      }
    }
  }
  return out;
}

}  // namespace kissvdb
