// Connection floods against a running deployment (issue 15 item 1): every server actor's
// REST port (super dealer, the three dealers, the model owner) and the model owner's online
// gRPC port are held by hostile connections that trickle bytes (TLS ClientHellos without a
// certificate, and slow requests under the same identity as the legitimate client) while the
// actors' handshake and request timeouts keep closing them. Meanwhile and afterwards every
// actor answers its health probes and a legitimate private inference succeeds; no actor dies.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "deployment.hpp"
#include "digits_deployment.hpp"
#include "flood.hpp"
#include "model/safetensors.hpp"

using namespace ppi;
using namespace std::chrono_literals;
using ppi::test::Deployment;

namespace {

// Short server timeouts for the actors this test starts (they read PPI_* from the
// environment they inherit), so that the timeouts fire many times during the flood.
struct ShortTimeouts {
  ShortTimeouts() {
    ::setenv("PPI_HTTP_TIMEOUT_SECONDS", "2", 1);
    ::setenv("PPI_HTTP_HANDSHAKE_TIMEOUT_SECONDS", "1", 1);
  }
  ~ShortTimeouts() {
    ::unsetenv("PPI_HTTP_TIMEOUT_SECONDS");
    ::unsetenv("PPI_HTTP_HANDSHAKE_TIMEOUT_SECONDS");
  }
};

struct Target {
  std::string identity;
  std::string url;
  test::ChildProcess* process;
};

std::vector<Target> targets_of(Deployment& d) {
  std::vector<Target> targets = {
      {d.super_dealer.identity, d.super_dealer.url, d.super_dealer.process.get()},
      {d.model_owner.identity, d.model_owner.url, d.model_owner.process.get()}};
  for (auto& dealer : d.dealers) {
    targets.push_back({dealer.identity, dealer.url, dealer.process.get()});
  }
  return targets;
}

test::FloodOptions flood_options(std::uint16_t port, test::FloodKind kind, int connections) {
  test::FloodOptions options;
  options.port = port;
  options.kind = kind;
  options.connections = connections;
  options.trickle = 5ms;
  return options;
}

std::uint16_t port_of_endpoint(const std::string& endpoint) {
  return static_cast<std::uint16_t>(std::stoul(endpoint.substr(endpoint.rfind(':') + 1)));
}

// Every actor answers /healthz 200, as the legitimate client.
void check_all_healthy(Deployment& d, const std::vector<Target>& targets) {
  for (const auto& t : targets) {
    REQUIRE_MESSAGE(t.process->running(), t.identity << " died:\n" << t.process->output());
    const auto res = net::fetch(d.certs().client("client").to(t.identity), net::http::verb::get,
                                t.url + "/healthz");
    CHECK_MESSAGE(res.result() == net::http::status::ok, t.identity << ": " << res.body());
  }
}

void run_flood_case(db::Dialect dialect) {
  ShortTimeouts timeouts;
  Deployment d(dialect, 3);
  test::register_digits_with_batches(d, 2);
  std::string out;
  const auto input_file = test::write_digits_row(d.certs().dir() / "flood-input.json");

  const auto targets = targets_of(d);
  std::vector<std::unique_ptr<test::Flood>> floods;
  for (const auto& t : targets) {
    const auto port = net::parse_url(t.url).port;
    floods.push_back(
        std::make_unique<test::Flood>(flood_options(port, test::FloodKind::slow_client_hello, 60)));
    // Under the legitimate client's own identity: its bound per peer must not lock it out.
    auto slow = flood_options(port, test::FloodKind::slow_request, 80);
    slow.tls = d.certs().client("client").tls;
    floods.push_back(std::make_unique<test::Flood>(slow));
  }
  floods.push_back(std::make_unique<test::Flood>(flood_options(
      port_of_endpoint(d.online_endpoint()), test::FloodKind::slow_client_hello, 100)));

  // During the flood: health probes, and one private inference end to end.
  // Every server has closed some of its hostile connections: its timeouts are firing.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (const auto& flood : floods) {
    while (flood->report().closed_by_server == 0) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(100ms);
    }
  }
  for (int round = 0; round < 3; ++round) check_all_healthy(d, targets);
  REQUIRE_MESSAGE(d.run_client({"infer", "--model=digits", "--dealers=dealer-1,dealer-2,dealer-3",
                                "--input=" + input_file.string()},
                               out) == 0,
                  out);
  CHECK(std::regex_search(out, std::regex(R"(row=0 private_class=\d)")));
  std::uint64_t closed = 0;
  for (auto& flood : floods) closed += flood->stop().closed_by_server;
  CHECK(closed > 300);  // the servers kept closing the hostile connections

  // After it: still alive and serving.
  check_all_healthy(d, targets);
}

}  // namespace

TEST_CASE("connection floods: every actor survives and keeps serving (PostgreSQL)") {
  run_flood_case(db::Dialect::postgresql);
}

TEST_CASE("connection floods: the same on MariaDB") {
  run_flood_case(db::Dialect::mysql);
}
