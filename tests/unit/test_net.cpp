// The REST server and client over loopback: routing, problem+json errors, size limits, and mTLS
// (a valid client certificate is identified; a missing or foreign one is refused).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "error_code.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/tls.hpp"
#include "obs/log.hpp"

namespace fs = std::filesystem;
using namespace ppi;
using net::http::status;
using net::http::verb;

namespace {

// A server on a free loopback port, running on its own I/O thread for one test.
class TestServer {
 public:
  explicit TestServer(std::optional<net::TlsOptions> tls, std::size_t body_limit = 1024) {
    auto router = std::make_shared<net::Router>();
    router->add(verb::get, "/hello/{name}", [](const net::Request&, net::RequestContext& ctx) {
      nlohmann::json doc = {{"name", ctx.path_params.at("name")}, {"peer", ctx.peer_identity}};
      return net::json_response(status::ok, doc.dump());
    });
    router->add(verb::post, "/echo", [](const net::Request& req, net::RequestContext&) {
      return net::json_response(status::ok, req.body());
    });
    router->add(verb::post, "/shape", [](const net::Request& req, net::RequestContext&) {
      // A handler that reads a member the body lacks: a JSON error, not a crash or a 500.
      const auto n = nlohmann::json::parse(req.body()).at("n").get<int>();
      return net::json_response(status::ok, std::to_string(n));
    });
    router->add(verb::get, "/missing",
                [](const net::Request&, net::RequestContext&) -> net::Response {
                  throw Error(Errc::not_found, "batch 42 does not exist");
                });
    net::ServerOptions options;
    options.tls = std::move(tls);
    options.body_limit = body_limit;
    server_ = std::make_unique<net::HttpServer>(io_, workers_, options, router);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    server_->stop();
    io_.stop();
    thread_.join();
    workers_.join();
  }
  std::string url(const std::string& path) const {
    return std::string(server_->tls() ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::thread_pool workers_{2};
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
};

struct Certificates {
  fs::path dir = fs::temp_directory_path() / ("ppi-certs-" + std::to_string(::getpid()));
  fs::path other = dir / "other-ca";
  Certificates() {
    std::string script = std::string(PPI_SOURCE_DIR) + "/scripts/make-certs.sh";
    REQUIRE(std::system((script + " " + dir.string() + " server:dealer client").c_str()) == 0);
    REQUIRE(std::system((script + " " + other.string() + " intruder:dealer").c_str()) == 0);
  }
  ~Certificates() { fs::remove_all(dir); }
  net::TlsOptions identity(const fs::path& d, const std::string& name) const {
    return {(d / (name + ".pem")).string(), (d / (name + ".key")).string(),
            (dir / "ca.pem").string(), true};
  }
};

}  // namespace

TEST_CASE("rest: routing, path parameters and problem+json errors over plain TCP") {
  TestServer server(std::nullopt);
  net::ClientOptions client;
  auto res = net::fetch(client, verb::get, server.url("/hello/alice"));
  CHECK(res.result() == status::ok);
  CHECK(nlohmann::json::parse(res.body())["name"] == "alice");

  auto missing = net::fetch(client, verb::get, server.url("/missing"));
  CHECK(missing.result() == status::not_found);
  CHECK(missing[net::http::field::content_type] == "application/problem+json");
  auto problem = nlohmann::json::parse(missing.body());
  CHECK(problem["status"] == 404);
  CHECK(problem["detail"] == "batch 42 does not exist");

  CHECK(net::fetch(client, verb::get, server.url("/nowhere")).result() == status::not_found);
  CHECK(net::fetch(client, verb::get, server.url("/echo")).result() == status::method_not_allowed);
  CHECK(net::fetch(client, verb::post, server.url("/echo"), "{\"x\":1}").body() == "{\"x\":1}");
}

TEST_CASE("rest: a body of the wrong shape is 400 problem+json, from one place for every route") {
  TestServer server(std::nullopt);
  net::ClientOptions client;
  client.timeout = std::chrono::seconds(5);
  for (const std::string body : {R"({"m": 1})", R"({"n": "one"})"}) {
    auto res = net::fetch(client, verb::post, server.url("/shape"), body);
    CHECK(res.result() == status::bad_request);
    CHECK(res[net::http::field::content_type] == "application/problem+json");
    CHECK(res.body().find("the request body does not fit") != std::string::npos);
  }
  CHECK(net::fetch(client, verb::post, server.url("/shape"), R"({"n": 3})").body() == "3");
}

TEST_CASE("rest: an oversized body gets 413 and the server keeps serving") {
  TestServer server(std::nullopt, 1024);
  net::ClientOptions client;
  auto res = net::fetch(client, verb::post, server.url("/echo"), std::string(4096, 'x'));
  CHECK(res.result() == status::payload_too_large);
  CHECK(net::fetch(client, verb::post, server.url("/echo"), "ok").result() == status::ok);
}

TEST_CASE("rest: an unreachable server is Errc::unavailable, a bad URL invalid_argument") {
  net::ClientOptions client;
  client.timeout = std::chrono::seconds(5);
  auto code_of = [&](const std::string& url) {
    return test::error_code([&] { net::fetch(client, verb::get, url); });
  };
  CHECK(code_of("http://127.0.0.1:1/healthz") == Errc::unavailable);
  CHECK(code_of("ftp://127.0.0.1/x") == Errc::invalid_argument);
  CHECK(code_of("http://127.0.0.1:99999/x") == Errc::invalid_argument);
}

TEST_CASE("rest: mTLS identifies the client and refuses missing or foreign certificates") {
  Certificates certs;
  TestServer server(certs.identity(certs.dir, "server"));
  net::ClientOptions client;
  client.timeout = std::chrono::seconds(5);
  client.server_identity = "server";

  client.tls = certs.identity(certs.dir, "client");
  auto res = net::fetch(client, verb::get, server.url("/hello/bob"));
  REQUIRE(res.result() == status::ok);
  CHECK(nlohmann::json::parse(res.body())["peer"] == "client");

  client.tls = net::TlsOptions{"", "", (certs.dir / "ca.pem").string(), false};
  CHECK_THROWS_AS(net::fetch(client, verb::get, server.url("/hello/bob")), Error);

  // A certificate from another CA: the server refuses it during the handshake.
  net::TlsOptions foreign{(certs.other / "intruder.pem").string(),
                          (certs.other / "intruder.key").string(), (certs.dir / "ca.pem").string(),
                          true};
  client.tls = foreign;
  CHECK_THROWS_AS(net::fetch(client, verb::get, server.url("/hello/bob")), Error);

  // A plain-TCP client talking to the TLS port gets no answer it can parse, and is told why.
  net::ClientOptions plain;
  plain.timeout = std::chrono::seconds(5);
  std::string http_url = server.url("/hello/bob").replace(0, 5, "http");
  CHECK_THROWS_WITH_AS(net::fetch(plain, verb::get, http_url),
                       doctest::Contains("if it is a TLS port, use an https:// URL"), Error);
}

namespace {

std::string run_capture(const std::string& cmd) {
  const fs::path out = fs::temp_directory_path() / ("ppi-cmd-" + std::to_string(::getpid()));
  const int rc = std::system((cmd + " > " + out.string() + " 2>&1").c_str());
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  fs::remove(out);
  return "rc=" + std::to_string(rc) + "\n" + text.str();
}

}  // namespace

TEST_CASE("rest: resumed TLS sessions (1.2 and 1.3) are accepted and keep the client's identity") {
  Certificates certs;
  TestServer server(certs.identity(certs.dir, "server"));
  const std::string port = server.url("").substr(std::string("https://127.0.0.1:").size());
  const std::string id = " -cert " + (certs.dir / "client.pem").string() + " -key " +
                         (certs.dir / "client.key").string() + " -CAfile " +
                         (certs.dir / "ca.pem").string();
  const std::string request =
      "printf 'GET /hello/again HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n'";
  for (const std::string version : {"-tls1_2", "-tls1_3"}) {
    const fs::path session = certs.dir / ("session" + version + ".pem");
    const std::string base = request + " | openssl s_client -connect 127.0.0.1:" + port + " " +
                             version + id + " -ign_eof";
    const std::string first = run_capture(base + " -sess_out " + session.string());
    CHECK_MESSAGE(first.find("\"peer\":\"client\"") != std::string::npos, first);
    const std::string resumed = run_capture(base + " -sess_in " + session.string());
    // Before the server had a session id context, OpenSSL refused every resumption with alert
    // 80 ("session id context uninitialized").
    CHECK_MESSAGE(resumed.find("Reused, TLSv1.") != std::string::npos, resumed);
    CHECK_MESSAGE(resumed.find("\"peer\":\"client\"") != std::string::npos, resumed);
  }
  // Two URLs in one curl call: the second on a resumed session or a reused connection.
  const std::string curl = "curl -sS --cacert " + (certs.dir / "ca.pem").string() + " --cert " +
                           (certs.dir / "client.pem").string() + " --key " +
                           (certs.dir / "client.key").string() + " " + server.url("/hello/one") +
                           " " + server.url("/hello/two");
  const std::string both = run_capture(curl);
  CHECK_MESSAGE(both.rfind("rc=0\n", 0) == 0, both);
  CHECK_MESSAGE(both.find("{\"name\":\"one\",\"peer\":\"client\"}") != std::string::npos, both);
  CHECK_MESSAGE(both.find("{\"name\":\"two\",\"peer\":\"client\"}") != std::string::npos, both);
}

TEST_CASE("make-certs.sh: the host names and addresses given after '=' verify, others do not") {
  const fs::path dir = fs::temp_directory_path() / ("ppi-sans-" + std::to_string(::getpid()));
  const std::string script = std::string(PPI_SOURCE_DIR) + "/scripts/make-certs.sh";
  REQUIRE(std::system((script + " " + dir.string() +
                       " plain:dealer dealer-1=dealer1.example.org,10.1.2.3,fd00::7 >/dev/null")
                          .c_str()) == 0);
  const std::string ca = (dir / "ca.pem").string();
  auto verifies = [&](const std::string& name, const std::string& check) {
    const std::string cmd = "openssl verify -CAfile " + ca + " " + check + " " +
                            (dir / (name + ".pem")).string() + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  };
  CHECK(verifies("dealer-1", "-verify_hostname dealer1.example.org"));
  CHECK(verifies("dealer-1", "-verify_ip 10.1.2.3"));
  CHECK(verifies("dealer-1", "-verify_ip fd00::7"));
  CHECK(verifies("dealer-1", "-verify_hostname localhost"));  // always there, for local runs
  CHECK(verifies("dealer-1", "-verify_ip 127.0.0.1"));
  CHECK_FALSE(verifies("dealer-1", "-verify_hostname other.example.org"));
  CHECK_FALSE(verifies("dealer-1", "-verify_ip 10.1.2.4"));
  CHECK_FALSE(verifies("plain", "-verify_hostname dealer1.example.org"));
  const std::string subject =
      run_capture("openssl x509 -noout -subject -in " + (dir / "dealer-1.pem").string());
  CHECK_MESSAGE(subject.find("CN = dealer-1") != std::string::npos, subject);  // the identity
  // A host with characters that are neither a name nor an address is refused, nothing written.
  const std::string bad = run_capture(script + " " + dir.string() + " 'x:client=a;b'");
  CHECK(bad.rfind("rc=0\n", 0) != 0);
  CHECK(bad.find("bad host 'a;b' for x") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "x.pem"));
  fs::remove_all(dir);
}

TEST_CASE("logs name the actor's identity: its certificate's CN on every line") {
  Certificates certs;
  CHECK(net::certificate_common_name((certs.dir / "server.pem").string()) == "server");
  CHECK_THROWS_WITH_AS(net::certificate_common_name((certs.dir / "none.pem").string()),
                       doctest::Contains("cannot be read"), Error);
  CHECK_THROWS_WITH_AS(net::certificate_common_name((certs.dir / "server.key").string()),
                       doctest::Contains("is not a PEM certificate"), Error);
  // Three dealers used to log actor=dealer alike.
  const fs::path out = certs.dir / "log.txt";
  std::fflush(stderr);
  const int saved = ::dup(2);
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  ::dup2(fd, 2);
  log::set_identity("dealer-2");
  log::info("identity_test", {{"k", "v"}});
  log::set_identity("");
  log::info("identity_test_after");
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(fd);
  ::close(saved);
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str().find(" identity=dealer-2 event=identity_test k=v\n") != std::string::npos);
  const std::string all = text.str();
  const std::string last = all.substr(all.rfind('\n', all.size() - 2) + 1);
  CHECK(last.find("event=identity_test_after") != std::string::npos);
  CHECK(last.find("identity=") == std::string::npos);  // unset: no field
}

// Issue 15 items 2 and 6: callers pin the server's identity at the transport, certificates
// carry a role and only the key usages it needs, and routes check the caller's role.
TEST_SUITE("identity pinning and roles") {
  namespace {

  struct RoleCertificates {
    fs::path dir = fs::temp_directory_path() / ("ppi-roles-" + std::to_string(::getpid()));
    RoleCertificates() {
      const std::string script = std::string(PPI_SOURCE_DIR) + "/scripts/make-certs.sh";
      REQUIRE(std::system((script + " " + dir.string() +
                           " dealer-1 dealer-2 client operator alice:model_owner >/dev/null")
                              .c_str()) == 0);
    }
    ~RoleCertificates() { fs::remove_all(dir); }
    net::TlsOptions tls(const std::string& name) const {
      return {(dir / (name + ".pem")).string(), (dir / (name + ".key")).string(),
              (dir / "ca.pem").string(), true};
    }
    net::ClientOptions caller(const std::string& name) const {
      net::ClientOptions o;
      o.tls = tls(name);
      o.timeout = std::chrono::seconds(5);
      return o;
    }
  };

  // A TLS server with one route for the dealer role and one for anyone; counts the requests
  // its handlers saw.
  class RoleServer {
   public:
    explicit RoleServer(net::TlsOptions tls) {
      auto router = std::make_shared<net::Router>();
      router->add(verb::get, "/dealers-only", {net::role::kDealer},
                  [this](const net::Request&, net::RequestContext& ctx) {
                    ++handled;
                    return net::json_response(status::ok, "\"" + ctx.peer_role + "\"");
                  });
      router->add(verb::get, "/anyone", [this](const net::Request&, net::RequestContext& ctx) {
        ++handled;
        return net::json_response(status::ok, "\"" + ctx.peer_identity + "\"");
      });
      net::ServerOptions options;
      options.tls = std::move(tls);
      server_ = std::make_unique<net::HttpServer>(io_, workers_, options, router);
      server_->start();
      thread_ = std::thread([this] { io_.run(); });
    }
    ~RoleServer() {
      server_->stop();
      io_.stop();
      thread_.join();
      workers_.join();
    }
    std::string url(const std::string& path) const {
      return "https://127.0.0.1:" + std::to_string(server_->port()) + path;
    }
    std::atomic<int> handled{0};

   private:
    boost::asio::io_context io_;
    boost::asio::thread_pool workers_{1};
    std::unique_ptr<net::HttpServer> server_;
    std::thread thread_;
  };

  }  // namespace

  TEST_CASE(
      "make-certs.sh: the role is the subject OU; clients and operators get clientAuth only") {
    RoleCertificates certs;
    auto text = [&](const std::string& name) {
      return run_capture("openssl x509 -noout -subject -ext extendedKeyUsage -in " +
                         (certs.dir / (name + ".pem")).string());
    };
    CHECK(text("dealer-1").find("OU = dealer") != std::string::npos);
    CHECK(text("dealer-1").find("TLS Web Server Authentication, TLS Web Client Authentication") !=
          std::string::npos);
    CHECK(text("alice").find("OU = model_owner") != std::string::npos);  // NAME:ROLE
    for (const std::string name : {"client", "operator"}) {
      CAPTURE(name);
      CHECK(text(name).find("OU = " + name) != std::string::npos);
      CHECK(text(name).find("TLS Web Client Authentication") != std::string::npos);
      CHECK(text(name).find("Server Authentication") == std::string::npos);
    }
    // A name with no default role needs one; an unknown role is refused; nothing is written.
    const std::string script = std::string(PPI_SOURCE_DIR) + "/scripts/make-certs.sh";
    const std::string bare = run_capture(script + " " + certs.dir.string() + " bob");
    CHECK(bare.find("no role for 'bob': give it as bob:ROLE") != std::string::npos);
    const std::string bad = run_capture(script + " " + certs.dir.string() + " bob:root");
    CHECK(bad.find("bad role 'root' for bob") != std::string::npos);
    CHECK_FALSE(fs::exists(certs.dir / "bob.pem"));
  }

  TEST_CASE("rest: a caller reaches only the server identity it names, before sending anything") {
    RoleCertificates certs;
    RoleServer server(certs.tls("dealer-1"));
    auto client = certs.caller("client");
    CHECK(net::fetch(client.to("dealer-1"), verb::get, server.url("/anyone")).body() ==
          "\"client\"");
    CHECK(server.handled == 1);
    const std::string where = server.url("").substr(std::string("https://").size());
    const std::string wrong = test::error_message(
        [&] { net::fetch(client.to("dealer-2"), verb::get, server.url("/anyone")); });
    CHECK(wrong == "server at " + where + " presented 'dealer-1', expected 'dealer-2'");
    CHECK(test::error_code([&] {
            net::fetch(client.to("dealer-2"), verb::get, server.url("/anyone"));
          }) == Errc::unavailable);
    CHECK(server.handled == 1);  // the refused calls never reached a handler
    // An https call that names nobody is a configuration error, not a call to whoever answers.
    CHECK(test::error_code([&] { net::fetch(client, verb::get, server.url("/anyone")); }) ==
          Errc::config);
    auto any = client;
    any.any_server = true;
    CHECK(net::fetch(any, verb::get, server.url("/anyone")).result() == status::ok);
  }

  TEST_CASE("tls: a certificate without serverAuth cannot serve, even to a caller naming it") {
    RoleCertificates certs;
    for (const std::string name : {"client", "operator"}) {
      CAPTURE(name);
      RoleServer server(certs.tls(name));
      const std::string why = test::error_message(
          [&] { net::fetch(certs.caller("dealer-1").to(name), verb::get, server.url("/anyone")); });
      CHECK_MESSAGE(why.find("TLS handshake with") != std::string::npos, why);
      CHECK(server.handled == 0);
    }
    // PEM checks, as gRPC's verifier makes them.
    auto pem = [&](const std::string& name) {
      std::ifstream in(certs.dir / (name + ".pem"));
      std::stringstream text;
      text << in.rdbuf();
      return text.str();
    };
    using net::PeerSide;
    CHECK(net::check_peer_certificate(pem("dealer-1"), PeerSide::server, "dealer-1", "h:1") == "");
    CHECK(net::check_peer_certificate(pem("dealer-1"), PeerSide::server, "dealer-2", "h:1") ==
          "server at h:1 presented 'dealer-1', expected 'dealer-2'");
    CHECK(net::check_peer_certificate(pem("client"), PeerSide::server, "client", "h:1") ==
          "server at h:1 presented 'client', a certificate without serverAuth");
    CHECK(net::check_peer_certificate(pem("client"), PeerSide::client, "", "c") == "");
    CHECK(net::check_peer_certificate("not a certificate", PeerSide::client, "", "c") ==
          "client c presented no readable certificate");
  }

  TEST_CASE("router: a route with roles refuses other roles with 403 before its handler") {
    RoleCertificates certs;
    RoleServer server(certs.tls("dealer-2"));
    auto call = [&](const std::string& who) {
      return net::fetch(certs.caller(who).to("dealer-2"), verb::get, server.url("/dealers-only"));
    };
    const auto ok = call("dealer-1");
    CHECK(ok.result() == status::ok);
    CHECK(ok.body() == "\"dealer\"");
    for (const std::string who : {"client", "operator", "alice"}) {
      CAPTURE(who);
      const auto refused = call(who);
      CHECK(refused.result() == status::forbidden);
      const auto doc = nlohmann::json::parse(refused.body());
      CHECK(doc["code"] == "permission_denied");
      const std::string role = who == "alice" ? "model_owner" : who;
      CHECK(doc["detail"] ==
            "GET /dealers-only needs the role dealer; '" + who + "' holds the role " + role);
    }
    CHECK(server.handled == 1);
    // No certificate at all (a router behind a plain listener): 401, not 403.
    net::Router router;
    int ran = 0;
    router.add(verb::get, "/x", {net::role::kOperator, net::role::kDealer},
               [&](const net::Request&, net::RequestContext&) {
                 ++ran;
                 return net::json_response(status::ok, "{}");
               });
    net::Request request{verb::get, "/x", 11};
    net::RequestContext anonymous;
    CHECK(router.handle(request, anonymous).result() == status::unauthorized);
    net::RequestContext dealer{"dealer-1", "dealer", "", {}};
    CHECK(router.handle(request, dealer).result() == status::ok);
    net::RequestContext client{"client", "client", "", {}};
    const auto refused = router.handle(request, client);
    CHECK(nlohmann::json::parse(refused.body())["detail"] ==
          "GET /x needs the role operator or dealer; 'client' holds the role client");
    net::RequestContext roleless{"old-cert", "", "", {}};
    CHECK(nlohmann::json::parse(router.handle(request, roleless).body())["detail"] ==
          "GET /x needs the role operator or dealer; 'old-cert' holds no role");
    CHECK(ran == 1);
  }
}
