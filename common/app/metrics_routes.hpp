#pragma once
// GET /metrics and GET /readyz of every server actor (beside GET /healthz, issue 11 item 4).
//
// /metrics: obs::metrics() in Prometheus text format 0.0.4, for the roles operator and monitor
// (a Prometheus server's certificate). It carries ppi_build_info and the actor's families of
// obs/catalog.hpp, made at start-up so that they show before the first event.
//
// /readyz: whether the actor can do its work now, for any authenticated caller: its database
// answers a ping and, for the model owner, the super dealer answers GET /healthz (2 s timeout,
// the result kept 5 s so that probes cannot multiply into load on it). The super dealer does
// not check its dealers: one dealer down leaves it ready for the groups without that dealer.
// 200 {"status":"ready","checks":{...}} or 503 problem+json naming what is not ready.

#include <memory>
#include <string>

#include "config/config.hpp"
#include "db/database.hpp"
#include "net/router.hpp"

namespace ppi::app {

void add_metrics_routes(net::Router& router, const std::string& actor, const config::Config& cfg,
                        std::shared_ptr<db::Database> db);

}  // namespace ppi::app
