#pragma once
// Every metric the actors export, defined once: the names, labels and buckets here are the
// contract that dashboards and alerts read (docs/observability.md lists them). Instrumented
// code calls these accessors; each registers its family in obs::metrics() on first use.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "obs/metrics.hpp"

namespace ppi::obs::catalog {

// All server actors.
// ppi_build_info{actor,identity,version} 1
void set_build_info(std::string_view actor, std::string_view identity, std::string_view version);
// ppi_http_requests_total{route,method,status}: route is the router's pattern, or "unmatched".
CounterFamily& http_requests();
// ppi_http_request_duration_seconds{route}
HistogramFamily& http_request_duration();
// ppi_errors_total{kind}: the Errc name of each error answered at the REST or gRPC edge.
CounterFamily& errors();
void count_error(Errc code);
void count_error(std::string_view kind);

// Super dealer.
// ppi_pool_batches{model,group,state}: batches of a pool by state (available, generating),
// as the pool keeper last counted them.
GaugeFamily& pool_batches();
// ppi_generations_total{model,group,outcome}: outcome started, available or failed.
CounterFamily& generations();
// ppi_generation_seconds: from a generation's start to its batch becoming available.
Histogram& generation_seconds();
// ppi_pool_keeper_pass_failures_total
Counter& pool_keeper_pass_failures();

// Dealer.
// ppi_dealer_releases_total{kind} and ppi_dealer_release_bytes_total{kind}: kind shares (a
// GetShares stream that delivered a whole share) or seed (POST /v1/seed).
CounterFamily& dealer_releases();
CounterFamily& dealer_release_bytes();

// Model owner.
Counter& conversion_bytes();       // ppi_conversion_bytes_total
Histogram& conversion_seconds();   // ppi_conversion_seconds
CounterFamily& conversions();      // ppi_conversions_total{outcome}: succeeded, failed
Gauge& online_sessions_active();   // ppi_online_sessions_active
CounterFamily& online_sessions();  // ppi_online_sessions_total{outcome}: succeeded,
                                   // refused (a bad or foreign batch), failed
Histogram& online_seconds();       // ppi_online_seconds
Histogram& online_rounds();        // ppi_online_rounds
Counter& online_bytes();           // ppi_online_bytes_total (sent and received)
// Holds ppi_online_sessions_active one higher while it lives.
class ActiveSession {
 public:
  ActiveSession() { online_sessions_active().add(1); }
  ~ActiveSession() { online_sessions_active().add(-1); }
  ActiveSession(const ActiveSession&) = delete;
  ActiveSession& operator=(const ActiveSession&) = delete;
};
// A session that succeeded: its outcome, time, rounds and bytes.
void online_done(std::chrono::duration<double> elapsed, std::uint64_t rounds, std::uint64_t bytes);

// Makes the families of `actor` (super_dealer, dealer, model_owner) and their series of known
// label values at zero, so that a scrape before the first event already shows them and
// rate() starts from 0.
void register_actor(std::string_view actor);

}  // namespace ppi::obs::catalog
