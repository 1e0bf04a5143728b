#include "obs/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace ppi::obs {
namespace {

bool valid_name(std::string_view name, bool label) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':');
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  // Names starting with "__" are reserved for Prometheus' own labels.
  return !(label && name.starts_with("__"));
}

void check_names(const std::string& name, const std::vector<std::string>& labels) {
  if (!valid_name(name, false)) throw Error(Errc::internal, "bad metric name '" + name + "'");
  for (const auto& l : labels) {
    // "le" is the histograms' bucket label, so no family may use it for its own.
    if (!valid_name(l, true) || l == "le") {
      throw Error(Errc::internal, "bad label name '" + l + "' of metric " + name);
    }
  }
}

// `name{a="x",b="y"}` (or just `name` without labels), with an extra label at the end.
void append_series(std::string& out, const std::string& name,
                   const std::vector<std::string>& label_names, const LabelValues& values,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += name;
  if (label_names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  auto add = [&](std::string_view n, std::string_view v) {
    if (!first) out += ',';
    first = false;
    out.append(n).append("=\"").append(escape_label_value(v)).append("\"");
  };
  for (std::size_t i = 0; i < label_names.size(); ++i) add(label_names[i], values[i]);
  if (!extra_name.empty()) add(extra_name, extra_value);
  out += '}';
}

void append_sample(std::string& out, const std::string& name,
                   const std::vector<std::string>& label_names, const LabelValues& values,
                   double value, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  append_series(out, name, label_names, values, extra_name, extra_value);
  out.append(" ").append(format_value(value)).append("\n");
}

}  // namespace

namespace {

// Backslash and newline are escaped in both places; double quotes only inside label values.
std::string escape(std::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  return escape(value, true);
}

std::string escape_help(std::string_view help) {
  return escape(help, false);
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  // The shortest text that reads back as the same double (0.001, not 0.00100000000000000002).
  char buf[64];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return std::string(buf, end);
}

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds.size(); ++i) buckets_[i] = 0;
}

void Histogram::observe(double v) {
  // Buckets hold what falls in them alone; the snapshot accumulates (le: less or equal).
  const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[static_cast<std::size_t>(at)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // The count is the +Inf bucket, so that a scrape racing an observe stays consistent.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

template <class Series>
Series& Family<Series>::with(const LabelValues& values) {
  if (values.size() != label_names_.size()) {
    throw Error(Errc::internal, "metric " + name_ + " takes " +
                                    std::to_string(label_names_.size()) + " label values, not " +
                                    std::to_string(values.size()));
  }
  {
    std::shared_lock lock(mu_);
    if (auto it = series_.find(values); it != series_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& slot = series_[values];
  if (!slot) slot = make();
  return *slot;
}

template <class Series>
std::vector<std::pair<LabelValues, const Series*>> Family<Series>::series() const {
  std::shared_lock lock(mu_);
  std::vector<std::pair<LabelValues, const Series*>> out;
  for (const auto& [labels, s] : series_) out.emplace_back(labels, s.get());
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds)
    : Family<Histogram>(std::move(name), std::move(help), std::move(label_names)),
      bounds_(std::move(bounds)) {
  if (bounds_.empty() || !std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end()) {
    throw Error(Errc::internal, "histogram " + this->name() + ": bad buckets");
  }
}

struct Registry::Entry {
  std::string help;
  std::string type;  // counter, gauge, histogram
  std::vector<std::string> labels;
  std::unique_ptr<CounterFamily> counter;
  std::unique_ptr<GaugeFamily> gauge;
  std::unique_ptr<HistogramFamily> histogram;
  SampleSource source;
};

Registry::Entry& Registry::entry(const std::string& name, const std::string& help,
                                 std::string_view type, const std::vector<std::string>& labels) {
  check_names(name, labels);
  auto& slot = entries_[name];
  if (!slot) {
    slot = std::make_shared<Entry>();
    slot->help = help;
    slot->type = type;
    slot->labels = labels;
  } else if (slot->type != type || slot->labels != labels) {
    throw Error(Errc::internal, "metric " + name + " registered twice, differently");
  }
  return *slot;
}

CounterFamily& Registry::counter(const std::string& name, const std::string& help,
                                 std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  Entry& e = entry(name, help, "counter", labels);
  if (!e.counter) e.counter = std::make_unique<CounterFamily>(name, help, std::move(labels));
  return *e.counter;
}

GaugeFamily& Registry::gauge(const std::string& name, const std::string& help,
                             std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  Entry& e = entry(name, help, "gauge", labels);
  if (e.source) throw Error(Errc::internal, "metric " + name + " is computed when scraped");
  if (!e.gauge) e.gauge = std::make_unique<GaugeFamily>(name, help, std::move(labels));
  return *e.gauge;
}

HistogramFamily& Registry::histogram(const std::string& name, const std::string& help,
                                     std::vector<std::string> labels, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  Entry& e = entry(name, help, "histogram", labels);
  if (!e.histogram) {
    e.histogram = std::make_unique<HistogramFamily>(name, help, std::move(labels), bounds);
  } else if (e.histogram->bounds() != bounds) {
    throw Error(Errc::internal, "histogram " + name + " registered twice with other buckets");
  }
  return *e.histogram;
}

void Registry::gauge_source(const std::string& name, const std::string& help,
                            std::vector<std::string> labels, SampleSource source) {
  std::lock_guard lock(mu_);
  Entry& e = entry(name, help, "gauge", labels);
  if (e.gauge) throw Error(Errc::internal, "metric " + name + " is a settable gauge");
  e.source = std::move(source);
}

std::string Registry::render() const {
  std::vector<std::pair<std::string, std::shared_ptr<Entry>>> entries;
  {
    std::lock_guard lock(mu_);
    entries.assign(entries_.begin(), entries_.end());
  }
  std::string out;
  for (const auto& [name, e] : entries) {
    out.append("# HELP ").append(name).append(" ").append(escape_help(e->help)).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(e->type).append("\n");
    if (e->counter) {
      for (const auto& [labels, c] : e->counter->series()) {
        append_sample(out, name, e->labels, labels, c->value());
      }
    } else if (e->gauge) {
      for (const auto& [labels, g] : e->gauge->series()) {
        append_sample(out, name, e->labels, labels, g->value());
      }
    } else if (e->histogram) {
      const auto& bounds = e->histogram->bounds();
      for (const auto& [labels, h] : e->histogram->series()) {
        const auto s = h->snapshot();
        for (std::size_t i = 0; i < bounds.size(); ++i) {
          append_sample(out, name + "_bucket", e->labels, labels,
                        static_cast<double>(s.cumulative[i]), "le", format_value(bounds[i]));
        }
        append_sample(out, name + "_bucket", e->labels, labels, static_cast<double>(s.count), "le",
                      "+Inf");
        append_sample(out, name + "_sum", e->labels, labels, s.sum);
        append_sample(out, name + "_count", e->labels, labels, static_cast<double>(s.count));
      }
    } else if (e->source) {
      std::vector<Sample> samples;
      try {
        samples = e->source();
      } catch (const std::exception&) {
        samples.clear();  // the page stays whole; the source's own log says why
      }
      std::sort(samples.begin(), samples.end(),
                [](const Sample& a, const Sample& b) { return a.labels < b.labels; });
      for (const auto& s : samples) {
        if (s.labels.size() != e->labels.size()) continue;
        append_sample(out, name, e->labels, s.labels, s.value);
      }
    }
  }
  return out;
}

Registry& metrics() {
  static Registry registry;
  return registry;
}

}  // namespace ppi::obs
