#pragma once
// A small metrics registry rendered as Prometheus text exposition format 0.0.4 (served at
// GET /metrics by every server actor). Counters, gauges (set, or computed by a callback when
// scraped) and histograms with fixed buckets, each a family of series told apart by label
// values. Thread-safe; the hot path is one atomic add on a series that callers may look up
// once and keep (series live as long as their registry and are never removed).
//
// The metric names the actors export are in obs/catalog.hpp (one place, read by dashboards).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace ppi::obs {

using LabelValues = std::vector<std::string>;

class Counter {
 public:
  void inc(double by = 1.0) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, strictly increasing; +Inf is implied.
  explicit Histogram(const std::vector<double>& bounds);
  void observe(double v);

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double>& bounds_;  // the family's, which outlives the series
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bound, then +Inf
  std::atomic<double> sum_{0.0};
  std::atomic<std::uint64_t> count_{0};
};

// One series per label-value tuple, made on first use.
template <class Series>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~Family() = default;
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;
  // Throws Error(internal) when the number of values is not that of the label names.
  Series& with(const LabelValues& values);
  Series& with() { return with(LabelValues{}); }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // A copy of the series map's keys with pointers, for rendering.
  std::vector<std::pair<LabelValues, const Series*>> series() const;

 protected:
  // A new series (histograms override it to pass their buckets).
  virtual std::unique_ptr<Series> make() const {
    if constexpr (std::is_default_constructible_v<Series>) {
      return std::make_unique<Series>();
    } else {
      return nullptr;
    }
  }

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  mutable std::shared_mutex mu_;
  std::map<LabelValues, std::unique_ptr<Series>> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;

class HistogramFamily final : public Family<Histogram> {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds);
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::unique_ptr<Histogram> make() const override { return std::make_unique<Histogram>(bounds_); }
  std::vector<double> bounds_;
};

// A gauge whose samples are computed when scraped (e.g. pool sizes read from a registry).
struct Sample {
  LabelValues labels;
  double value = 0;
};
using SampleSource = std::function<std::vector<Sample>()>;

class Registry {
 public:
  // Registering a name again returns the family already registered when its kind, labels
  // (and buckets) agree, and throws Error(internal) otherwise: two call sites that define one
  // metric differently are a bug. Names and label names must match Prometheus' grammar.
  CounterFamily& counter(const std::string& name, const std::string& help,
                         std::vector<std::string> labels = {});
  GaugeFamily& gauge(const std::string& name, const std::string& help,
                     std::vector<std::string> labels = {});
  HistogramFamily& histogram(const std::string& name, const std::string& help,
                             std::vector<std::string> labels, std::vector<double> bounds);
  // Replaces an earlier source of the same name. A source that throws is left out of that
  // scrape (its HELP and TYPE stay), so one failing read cannot break the whole page.
  void gauge_source(const std::string& name, const std::string& help,
                    std::vector<std::string> labels, SampleSource source);

  // The whole registry in text format 0.0.4, families sorted by name.
  std::string render() const;

 private:
  struct Entry;
  Entry& entry(const std::string& name, const std::string& help, std::string_view type,
               const std::vector<std::string>& labels);
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
};

// The process's registry, which /metrics renders.
Registry& metrics();

// The text format's escaping: label values escape backslash, double quote and newline;
// HELP text escapes backslash and newline.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// A sample value as the format writes it: integers without a fraction, +Inf, -Inf, NaN.
std::string format_value(double v);

// Buckets of latencies in seconds, from 1 ms to 5 minutes.
std::vector<double> latency_buckets();

}  // namespace ppi::obs
