#include "obs/catalog.hpp"

namespace ppi::obs::catalog {
namespace {

// Communication rounds of one online session (the digits MLP takes tens, GPT-2 thousands).
std::vector<double> round_buckets() {
  return {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000};
}

}  // namespace

void set_build_info(std::string_view actor, std::string_view identity, std::string_view version) {
  metrics()
      .gauge("ppi_build_info",
             "Which actor this is, under which identity, built from which version",
             {"actor", "identity", "version"})
      .with({std::string(actor), std::string(identity), std::string(version)})
      .set(1);
}

CounterFamily& http_requests() {
  static CounterFamily& f = metrics().counter(
      "ppi_http_requests_total", "REST requests answered, by route pattern, method and status",
      {"route", "method", "status"});
  return f;
}

HistogramFamily& http_request_duration() {
  static HistogramFamily& f =
      metrics().histogram("ppi_http_request_duration_seconds",
                          "Time from a REST request's arrival at the router to its answer",
                          {"route"}, latency_buckets());
  return f;
}

CounterFamily& errors() {
  static CounterFamily& f = metrics().counter(
      "ppi_errors_total", "Errors answered at the REST or gRPC edge, by kind (ppi::Errc name)",
      {"kind"});
  return f;
}

void count_error(Errc code) {
  count_error(errc_name(code));
}

void count_error(std::string_view kind) {
  errors().with({std::string(kind)}).inc();
}

GaugeFamily& pool_batches() {
  static GaugeFamily& f = metrics().gauge(
      "ppi_pool_batches", "Batches of a pool by state, as the pool keeper last counted them",
      {"model", "group", "state"});
  return f;
}

CounterFamily& generations() {
  static CounterFamily& f = metrics().counter(
      "ppi_generations_total",
      "Generations of a pool: started, became available, or failed (batches and mask sets)",
      {"model", "group", "outcome"});
  return f;
}

Histogram& generation_seconds() {
  static Histogram& h =
      metrics()
          .histogram("ppi_generation_seconds",
                     "Time from a generation's start to its batch being available", {},
                     latency_buckets())
          .with();
  return h;
}

Counter& pool_keeper_pass_failures() {
  static Counter& c = metrics()
                          .counter("ppi_pool_keeper_pass_failures_total",
                                   "Pool keeper passes that failed as a whole (e.g. the database "
                                   "is down)")
                          .with();
  return c;
}

CounterFamily& dealer_releases() {
  static CounterFamily& f = metrics().counter(
      "ppi_dealer_releases_total",
      "Releases by this dealer: whole share streams to model owners, seeds to clients", {"kind"});
  return f;
}

CounterFamily& dealer_release_bytes() {
  static CounterFamily& f = metrics().counter(
      "ppi_dealer_release_bytes_total",
      "Bytes released by this dealer (masked share elements streamed, seed answers)", {"kind"});
  return f;
}

Counter& conversion_bytes() {
  static Counter& c = metrics()
                          .counter("ppi_conversion_bytes_total",
                                   "Bytes of masked shares received from dealers in conversions")
                          .with();
  return c;
}

Histogram& conversion_seconds() {
  static Histogram& h =
      metrics()
          .histogram("ppi_conversion_seconds",
                     "Time of one conversion (binding and collecting every dealer's share)", {},
                     latency_buckets())
          .with();
  return h;
}

CounterFamily& conversions() {
  static CounterFamily& f =
      metrics().counter("ppi_conversions_total", "Conversions by outcome", {"outcome"});
  return f;
}

Gauge& online_sessions_active() {
  static Gauge& g =
      metrics().gauge("ppi_online_sessions_active", "Online sessions running now").with();
  return g;
}

CounterFamily& online_sessions() {
  static CounterFamily& f =
      metrics().counter("ppi_online_sessions_total",
                        "Online sessions by outcome (succeeded, refused, failed)", {"outcome"});
  return f;
}

Histogram& online_seconds() {
  static Histogram& h =
      metrics()
          .histogram("ppi_online_seconds", "Time of one online session", {}, latency_buckets())
          .with();
  return h;
}

Histogram& online_rounds() {
  static Histogram& h =
      metrics()
          .histogram("ppi_online_rounds", "Communication rounds of one online session", {},
                     round_buckets())
          .with();
  return h;
}

Counter& online_bytes() {
  static Counter& c =
      metrics()
          .counter("ppi_online_bytes_total", "Bytes sent and received in online sessions")
          .with();
  return c;
}

void online_done(std::chrono::duration<double> elapsed, std::uint64_t rounds, std::uint64_t bytes) {
  online_sessions().with({"succeeded"}).inc();
  online_seconds().observe(elapsed.count());
  online_rounds().observe(static_cast<double>(rounds));
  online_bytes().inc(static_cast<double>(bytes));
}

void register_actor(std::string_view actor) {
  http_requests();
  http_request_duration();
  errors();
  if (actor == "super_dealer") {
    pool_batches();
    generations();
    generation_seconds();
    pool_keeper_pass_failures();
  } else if (actor == "dealer") {
    for (const char* kind : {"shares", "seed"}) {
      dealer_releases().with({kind});
      dealer_release_bytes().with({kind});
    }
  } else if (actor == "model_owner") {
    conversion_bytes();
    conversion_seconds();
    for (const char* outcome : {"succeeded", "failed"}) conversions().with({outcome});
    online_sessions_active();
    for (const char* outcome : {"succeeded", "refused", "failed"}) {
      online_sessions().with({outcome});
    }
    online_seconds();
    online_rounds();
    online_bytes();
  }
}

}  // namespace ppi::obs::catalog
