#include "app/metrics_routes.hpp"

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "app/actor.hpp"
#include "net/http_client.hpp"
#include "obs/catalog.hpp"
#include "obs/log.hpp"

namespace ppi::app {
namespace {

using Clock = std::chrono::steady_clock;

// One thing /readyz checks: its name in the answer and a probe that throws when not ready.
struct Check {
  std::string name;
  std::function<void()> probe;
};

// Runs the checks; logs a check only when its state changes, so a probe every few seconds
// against a database that is down leaves one line, not one per probe.
class Readiness {
 public:
  explicit Readiness(std::vector<Check> checks)
      : checks_(std::move(checks)), last_ok_(checks_.size(), true) {}

  net::Response answer() {
    nlohmann::json states = nlohmann::json::object();
    std::string not_ready;
    for (std::size_t i = 0; i < checks_.size(); ++i) {
      std::string reason;
      try {
        checks_[i].probe();
      } catch (const Error& e) {
        reason = e.served();
        note(i, false, e.what());
      } catch (const std::exception& e) {
        reason = e.what();
        note(i, false, e.what());
      }
      if (reason.empty()) note(i, true, "");
      states[checks_[i].name] = reason.empty() ? "ok" : "unavailable";
      if (!reason.empty()) {
        not_ready += (not_ready.empty() ? "" : "; ") + checks_[i].name + ": " + reason;
      }
    }
    if (not_ready.empty()) {
      return net::json_response(net::http::status::ok,
                                nlohmann::json{{"status", "ready"}, {"checks", states}}.dump());
    }
    const auto status = net::http::status::service_unavailable;
    nlohmann::json doc = {{"type", "about:blank"},
                          {"title", "Service Unavailable"},
                          {"status", static_cast<int>(status)},
                          {"detail", "not ready: " + not_ready},
                          {"code", "unavailable"},
                          {"checks", states}};
    net::Response res = net::json_response(status, doc.dump());
    res.set(net::http::field::content_type, "application/problem+json");
    return res;
  }

 private:
  void note(std::size_t i, bool ok, const std::string& detail) {
    std::lock_guard lock(mu_);
    if (last_ok_[i] == ok) return;
    last_ok_[i] = ok;
    if (ok) {
      log::info("ready_again", {{"check", checks_[i].name}});
    } else {
      log::warn("not_ready", {{"check", checks_[i].name}, {"detail", detail}});
    }
  }

  std::vector<Check> checks_;
  std::mutex mu_;
  std::vector<bool> last_ok_;
};

// A peer's GET /healthz, its result kept for a few seconds: concurrent and repeated probes
// within that time reuse it (and wait for one running call rather than start their own).
class CachedHealth {
 public:
  CachedHealth(std::string url, net::ClientOptions options)
      : url_(std::move(url)), options_(std::move(options)) {}

  void probe() {
    std::lock_guard lock(mu_);
    if (!checked_ || Clock::now() - *checked_ > kKeep) {
      failure_.reset();
      try {
        const auto res = net::fetch(options_, net::http::verb::get, url_ + "/healthz");
        if (res.result() != net::http::status::ok) {
          failure_ = Error(Errc::unavailable,
                           "GET " + url_ + "/healthz answered " + std::to_string(res.result_int()));
        }
      } catch (const Error& e) {
        failure_ = Error(Errc::unavailable, e.what());
      }
      checked_ = Clock::now();
    }
    if (failure_) throw *failure_;
  }

 private:
  static constexpr std::chrono::seconds kKeep{5};
  const std::string url_;
  const net::ClientOptions options_;
  std::mutex mu_;
  std::optional<Clock::time_point> checked_;
  std::optional<Error> failure_;
};

std::vector<Check> readiness_checks(const std::string& actor, const config::Config& cfg,
                                    std::shared_ptr<db::Database> db) {
  std::vector<Check> checks = {{"database", [db] { db->ping(); }}};
  // The model owner cannot convert without the super dealer, which binds its batches.
  if (actor == "model_owner") {
    net::ClientOptions options;
    options.tls = tls_options(cfg);
    options.timeout = std::chrono::seconds(2);
    options.server_identity = cfg.get_string("super_dealer.identity");
    auto health = std::make_shared<CachedHealth>(cfg.get_string("super_dealer.url"), options);
    checks.push_back({"super_dealer", [health] { health->probe(); }});
  }
  return checks;
}

std::string identity_of(const config::Config& cfg) {
  const auto tls = tls_options(cfg);
  return tls ? net::certificate_common_name(tls->cert_file) : std::string();
}

}  // namespace

void add_metrics_routes(net::Router& router, const std::string& actor, const config::Config& cfg,
                        std::shared_ptr<db::Database> db) {
  obs::catalog::set_build_info(actor, identity_of(cfg), PPI_VERSION);
  obs::catalog::register_actor(actor);
  router.add(net::http::verb::get, "/metrics", {net::role::kOperator, net::role::kMonitor},
             [](const net::Request&, net::RequestContext&) {
               net::Response res(net::http::status::ok, 11);
               res.set(net::http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
               res.body() = obs::metrics().render();
               res.prepare_payload();
               return res;
             });
  auto readiness = std::make_shared<Readiness>(readiness_checks(actor, cfg, std::move(db)));
  router.add(
      net::http::verb::get, "/readyz",
      [readiness](const net::Request&, net::RequestContext&) { return readiness->answer(); });
}

}  // namespace ppi::app
