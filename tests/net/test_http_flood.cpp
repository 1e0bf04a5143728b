// The REST server under hostile peers (issue 15 item 1): connections whose bytes keep arriving
// while the server's timeouts close them, peers with no certificate stuck in the handshake,
// and more connections than the server will hold. The server must not crash (this suite also
// runs under ASan/UBSan: scripts/test.sh), must keep answering a legitimate caller meanwhile,
// and must keep its connection count within its bounds.
#include <doctest/doctest.h>

#include <unistd.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "flood.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"

namespace fs = std::filesystem;
using namespace ppi;
using namespace std::chrono_literals;
using net::http::status;
using net::http::verb;

namespace {

struct FloodCertificates {
  fs::path dir = fs::temp_directory_path() / ("ppi-flood-certs-" + std::to_string(::getpid()));
  FloodCertificates() {
    const std::string script = std::string(PPI_SOURCE_DIR) + "/scripts/make-certs.sh";
    REQUIRE(std::system(
                (script + " " + dir.string() + " server:dealer caller:model_owner").c_str()) == 0);
  }
  ~FloodCertificates() { fs::remove_all(dir); }
  net::TlsOptions identity(const std::string& name) const {
    return {(dir / (name + ".pem")).string(), (dir / (name + ".key")).string(),
            (dir / "ca.pem").string(), true};
  }
};

// Two I/O threads, as the actors run (threads.io): a timer and an I/O completion of one
// connection can then run at the same time unless the server serialises them.
class FloodedServer {
 public:
  explicit FloodedServer(net::ServerOptions options) {
    auto router = std::make_shared<net::Router>();
    router->add(verb::get, "/healthz", [](const net::Request&, net::RequestContext&) {
      return net::json_response(status::ok, R"({"status":"ok"})");
    });
    server_ = std::make_unique<net::HttpServer>(io_, workers_, std::move(options), router);
    server_->start();
    for (auto& t : threads_) t = std::thread([this] { io_.run(); });
  }
  ~FloodedServer() {
    server_->stop();
    io_.stop();
    for (auto& t : threads_) t.join();
    workers_.join();
  }
  std::uint16_t port() const { return server_->port(); }
  std::string url() const {
    return std::string(server_->tls() ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(server_->port()) + "/healthz";
  }

 private:
  boost::asio::io_context io_;
  boost::asio::thread_pool workers_{2};
  std::unique_ptr<net::HttpServer> server_;
  std::thread threads_[2];
};

net::ServerOptions short_timeouts(std::optional<net::TlsOptions> tls) {
  net::ServerOptions options;
  options.tls = std::move(tls);
  options.timeout = 1s;
  options.handshake_timeout = 1s;
  return options;
}

net::ClientOptions caller(std::optional<net::TlsOptions> tls) {
  net::ClientOptions options;
  if (tls) options.server_identity = "server";
  options.tls = std::move(tls);
  options.timeout = 5s;
  return options;
}

test::FloodOptions flood_of(const FloodedServer& server, test::FloodKind kind, int connections) {
  test::FloodOptions options;
  options.port = server.port();
  options.kind = kind;
  options.connections = connections;
  options.trickle = 2ms;
  return options;
}

// Probes the server while the flood runs; every probe must be answered 200.
void probe_during(FloodedServer& server, const net::ClientOptions& client,
                  std::chrono::seconds duration) {
  const auto end = std::chrono::steady_clock::now() + duration;
  int probes = 0;
  while (std::chrono::steady_clock::now() < end) {
    const auto res = net::fetch(client, verb::get, server.url());
    CHECK(res.result() == status::ok);
    ++probes;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(probes > 10);
}

}  // namespace

TEST_SUITE("rest server under floods") {
  TEST_CASE("slow ClientHellos without a certificate, timed out mid-record, crash nothing") {
    FloodCertificates certs;
    FloodedServer server(short_timeouts(certs.identity("server")));
    const auto client = caller(certs.identity("caller"));
    test::Flood flood(flood_of(server, test::FloodKind::slow_client_hello, 100));
    probe_during(server, client, 5s);
    const auto report = flood.stop();
    CHECK(report.closed_by_server > 100);  // the handshake timeout fired again and again
    CHECK(net::fetch(client, verb::get, server.url()).result() == status::ok);
  }

  TEST_CASE("slow requests over mTLS, timed out while their bytes arrive, crash nothing") {
    FloodCertificates certs;
    FloodedServer server(short_timeouts(certs.identity("server")));
    const auto client = caller(certs.identity("caller"));
    auto options = flood_of(server, test::FloodKind::slow_request, 50);
    options.tls = certs.identity("caller");
    test::Flood flood(options);
    probe_during(server, client, 5s);
    const auto report = flood.stop();
    CHECK(report.closed_by_server > 50);
    CHECK(net::fetch(client, verb::get, server.url()).result() == status::ok);
  }

  TEST_CASE("slow plain requests, timed out while their bytes arrive, crash nothing") {
    FloodedServer server(short_timeouts(std::nullopt));
    const auto client = caller(std::nullopt);
    test::Flood flood(flood_of(server, test::FloodKind::slow_plain_request, 100));
    probe_during(server, client, 5s);
    const auto report = flood.stop();
    CHECK(report.closed_by_server > 100);
    CHECK(net::fetch(client, verb::get, server.url()).result() == status::ok);
  }
}
