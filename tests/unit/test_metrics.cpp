// The metrics registry (obs/metrics.hpp): Prometheus text format 0.0.4 as rendered (HELP and
// TYPE lines, escaping, histogram buckets), label checks, and the pool keeper's failure
// backoff (obs/failure_backoff.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "obs/catalog.hpp"
#include "obs/failure_backoff.hpp"
#include "obs/metrics.hpp"

using namespace ppi;

TEST_CASE("metrics: counters and gauges render with HELP, TYPE and sorted families") {
  obs::Registry r;
  auto& requests = r.counter("t_requests_total", "Requests", {"route", "status"});
  requests.with({"/v1/x/{id}", "200"}).inc();
  requests.with({"/v1/x/{id}", "200"}).inc(2);
  requests.with({"/a", "404"}).inc();
  r.gauge("t_active", "Active now").with().set(3.5);
  CHECK(r.render() ==
        "# HELP t_active Active now\n"
        "# TYPE t_active gauge\n"
        "t_active 3.5\n"
        "# HELP t_requests_total Requests\n"
        "# TYPE t_requests_total counter\n"
        "t_requests_total{route=\"/a\",status=\"404\"} 1\n"
        "t_requests_total{route=\"/v1/x/{id}\",status=\"200\"} 3\n");
}

TEST_CASE("metrics: label values and help text are escaped") {
  CHECK(obs::escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  CHECK(obs::escape_help("two\nlines \\ \"quoted\"") == "two\\nlines \\\\ \"quoted\"");
  obs::Registry r;
  r.counter("t_total", "Help with \\ and\nnewline", {"v"}).with({"say \"hi\"\n"}).inc();
  CHECK(r.render() ==
        "# HELP t_total Help with \\\\ and\\nnewline\n"
        "# TYPE t_total counter\n"
        "t_total{v=\"say \\\"hi\\\"\\n\"} 1\n");
}

TEST_CASE("metrics: histograms have cumulative buckets, +Inf, _sum and _count") {
  obs::Registry r;
  auto& h = r.histogram("t_seconds", "Time", {"route"}, {0.1, 1, 2.5});
  for (double v : {0.05, 0.1, 0.7, 3.0}) h.with({"/x"}).observe(v);
  CHECK(r.render() ==
        "# HELP t_seconds Time\n"
        "# TYPE t_seconds histogram\n"
        "t_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
        "t_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
        "t_seconds_bucket{route=\"/x\",le=\"2.5\"} 3\n"
        "t_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
        "t_seconds_sum{route=\"/x\"} 3.85\n"
        "t_seconds_count{route=\"/x\"} 4\n");
  obs::Registry plain;
  plain.histogram("t_rounds", "Rounds", {}, {10}).with().observe(12);
  CHECK(plain.render().find("t_rounds_bucket{le=\"10\"} 0\nt_rounds_bucket{le=\"+Inf\"} 1\n") !=
        std::string::npos);
}

TEST_CASE("metrics: values are written as the format reads them") {
  CHECK(obs::format_value(0) == "0");
  CHECK(obs::format_value(1234567) == "1234567");
  CHECK(obs::format_value(0.001) == "0.001");
  CHECK(obs::format_value(-2.5) == "-2.5");
  CHECK(obs::format_value(INFINITY) == "+Inf");
  CHECK(obs::format_value(-INFINITY) == "-Inf");
  CHECK(obs::format_value(NAN) == "NaN");
}

TEST_CASE("metrics: computed gauges are read at each render; a failing source leaves no samples") {
  obs::Registry r;
  int calls = 0;
  r.gauge_source("t_pool", "Pool", {"model"}, [&] {
    ++calls;
    return std::vector<obs::Sample>{{{"m2"}, 2}, {{"m1"}, static_cast<double>(calls)}};
  });
  CHECK(r.render().find("t_pool{model=\"m1\"} 1\nt_pool{model=\"m2\"} 2\n") != std::string::npos);
  CHECK(r.render().find("t_pool{model=\"m1\"} 2\n") != std::string::npos);
  r.gauge_source("t_pool", "Pool", {"model"},
                 []() -> std::vector<obs::Sample> { throw Error(Errc::unavailable, "down"); });
  CHECK(r.render() == "# HELP t_pool Pool\n# TYPE t_pool gauge\n");
}

TEST_CASE("metrics: one name is one definition; names and label counts are checked") {
  obs::Registry r;
  auto& a = r.counter("t_total", "T", {"kind"});
  CHECK(&r.counter("t_total", "T", {"kind"}) == &a);
  CHECK_THROWS_AS(r.counter("t_total", "T", {"other"}), Error);
  CHECK_THROWS_AS(r.gauge("t_total", "T", {"kind"}), Error);
  CHECK_THROWS_AS(r.histogram("t_h", "H", {}, {2, 1}), Error);
  r.histogram("t_h2", "H", {}, {1, 2});
  CHECK_THROWS_AS(r.histogram("t_h2", "H", {}, {1, 3}), Error);
  CHECK_THROWS_AS(r.counter("9bad", "T"), Error);
  CHECK_THROWS_AS(r.counter("t_le", "T", {"le"}), Error);
  CHECK_THROWS_AS(r.counter("t_res", "T", {"__name"}), Error);
  CHECK_THROWS_AS(a.with({"x", "y"}), Error);
  CHECK_THROWS_AS(a.with(), Error);
}

TEST_CASE("metrics: concurrent increments are all counted") {
  obs::Registry r;
  auto& family = r.counter("t_total", "T", {"thread"});
  auto& h = r.histogram("t_h", "H", {}, {0.5}).with();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        family.with({std::to_string(t % 2)}).inc();
        h.observe(i % 2 ? 1.0 : 0.25);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(family.with({"0"}).value() == 20000);
  CHECK(family.with({"1"}).value() == 20000);
  const auto s = h.snapshot();
  CHECK(s.count == 40000);
  CHECK(s.cumulative.at(0) == 20000);
  CHECK(s.sum == doctest::Approx(20000 * 1.0 + 20000 * 0.25));
}

TEST_CASE("metrics: the catalog's families are made with their known label values at zero") {
  obs::catalog::register_actor("model_owner");
  const std::string page = obs::metrics().render();
  CHECK(page.find("ppi_conversions_total{outcome=\"failed\"} ") != std::string::npos);
  CHECK(page.find("ppi_online_sessions_total{outcome=\"refused\"} ") != std::string::npos);
  CHECK(page.find("# TYPE ppi_online_rounds histogram\n") != std::string::npos);
  CHECK(page.find("# TYPE ppi_http_requests_total counter\n") != std::string::npos);
  {
    const obs::catalog::ActiveSession one, two;
    CHECK(obs::catalog::online_sessions_active().value() == 2);
  }
  CHECK(obs::catalog::online_sessions_active().value() == 0);
}

TEST_CASE("failure backoff: doubles from the interval to the cap, and a success resets it") {
  using ms = std::chrono::milliseconds;
  obs::FailureBackoff b(ms(500), ms(30000));
  CHECK(b.delay() == ms(500));
  std::vector<long> delays;
  for (int i = 0; i < 9; ++i) {
    const auto step = b.failed();
    CHECK(step.failures == static_cast<std::uint64_t>(i + 1));
    CHECK(b.delay() == step.delay);
    delays.push_back(static_cast<long>(step.delay.count()));
  }
  CHECK(delays == std::vector<long>{500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000});
  CHECK(b.succeeded() == 9);
  CHECK(b.delay() == ms(500));
  CHECK(b.succeeded() == 0);
  CHECK(b.failed().delay == ms(500));
  // A minute of a database down logs (one line per failure) 7 times, not 120 (every 500 ms).
  obs::FailureBackoff minute(ms(500), ms(30000));
  long waited = 0;
  int lines = 0;
  while (waited < 60000) {
    ++lines;
    waited += static_cast<long>(minute.failed().delay.count());
  }
  CHECK(lines == 7);
}
