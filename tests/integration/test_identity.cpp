// Pinned peer identities and roles (issue 15 items 2 and 6), on both databases.
// Item 2: a dealer that re-registers its endpoints as another dealer's is refused by every
// caller at the handshake (the super dealer's bind and group calls, the dealers' mesh, the
// model owner's share collection, the client's seed fetch), and nothing is bound or marked
// ready on its account. Item 6: a certificate of each role, tried on every route it must not
// use, gets 403 naming the role required, with nothing stored; a client's certificate cannot
// serve TLS.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/ids.hpp"
#include "deployment.hpp"
#include "error_code.hpp"
#include "grpc/mesh_client.hpp"
#include "grpc/mesh_service.hpp"
#include "grpc/share_collector.hpp"
#include "grpc/share_service.hpp"
#include "material/layout.hpp"
#include "net/http_server.hpp"
#include "net/json_call.hpp"

using namespace ppi;
using net::http::verb;
using nlohmann::json;

namespace {

const std::string kUnknownBatch = "00000000-0000-4000-8000-000000000000";

json registry_of(const test::Deployment& d) {
  return net::call_json(d.certs().client("operator").to("super_dealer"), verb::get,
                        d.super_dealer.url + "/v1/dealers")
      .at("dealers");
}

json record_of(const json& registry, const std::string& dealer_id) {
  for (const auto& r : registry) {
    if (r.at("dealer_id") == dealer_id) return r;
  }
  FAIL("no dealer " << dealer_id << " in the registry");
  return {};
}

// dealer-2 registers itself (its own certificate, as the super dealer allows) with endpoints
// of dealer-1's servers: REST, gRPC, both, or neither (its own again), as `honest` has them.
void impersonate(const test::Deployment& d, const json& honest, bool rest, bool grpc) {
  const json victim = record_of(honest, "dealer-1"), self = record_of(honest, "dealer-2");
  net::call_json(d.certs().client("dealer-2").to("super_dealer"), verb::post,
                 d.super_dealer.url + "/v1/dealers",
                 {{"dealer_id", "dealer-2"},
                  {"rest_url", (rest ? victim : self).at("rest_url")},
                  {"grpc_endpoint", (grpc ? victim : self).at("grpc_endpoint")}});
}

std::int64_t count(const test::Deployment& d, const std::string& db_url, const std::string& sql,
                   const std::vector<db::Value>& params = {}) {
  return d.open(db_url)->acquire().exec(sql, params).rows.at(0).get_int(0);
}

class NoKeys final : public grpcsvc::GroupKeyResponder {
 public:
  mesh::v1::KeyExchangeResponse exchange(const std::string&,
                                         const mesh::v1::KeyExchangeRequest&) override {
    ++asked;
    throw Error(Errc::not_found, "no groups here");
  }
  std::atomic<int> asked{0};
};

const std::string kMismatch = "presented 'dealer-1', expected 'dealer-2'";

// Model "m" of `count` TRIPLEs registered, and `batches` fixture batches of it loaded for
// every dealer; returns their ids.
std::vector<std::string> model_with_batches(test::Deployment& d, int count, int batches) {
  const auto plan = material::MaterialPlan::from_json(
      json::parse(R"([{"type": "TRIPLE", "count": )" + std::to_string(count) + "}]"));
  std::string out;
  REQUIRE_MESSAGE(d.register_model("m", plan, out) == 0, out);
  return d.load_batches("m", plan, d.dealer_ids(), batches);
}

void run_pinning_case(db::Dialect dialect) {
  test::Deployment d(dialect, 3);
  const auto batches = model_with_batches(d, 300, 2);
  const auto ids = d.dealer_ids();
  std::string out;
  const json honest = registry_of(d);

  // A batch bound while the registry was honest: the model owner and the client hold its
  // dealers' endpoints.
  const json bound =
      net::call_json(d.certs().client("model_owner").to("super_dealer"), verb::post,
                     d.super_dealer.url + "/v1/batch_id",
                     {{"model_id", "m"}, {"dealers", ids}, {"client_identity", "client"}});
  const std::string first = bound.at("batch_id");

  REQUIRE_NOTHROW(impersonate(d, honest, true, true));
  // The super dealer's bind reaches dealer-1's server for dealer-2 and is refused there: the
  // conversion fails, the batch is failed, and no inference of the model owner exists for it.
  REQUIRE(d.run_client({"convert", "--model=m", "--dealers=" + group_key(ids)}, out) != 0);
  CHECK_MESSAGE(out.find(kMismatch) != std::string::npos, out);
  const std::string second = first == batches[0] ? batches[1] : batches[0];
  CHECK(count(d, d.super_dealer.db_url,
              "SELECT COUNT(*) FROM batches WHERE batch_id = ? AND state = 'failed'",
              {second}) == 1);
  CHECK(count(d, d.model_owner.db_url, "SELECT COUNT(*) FROM inferences") == 0);
  // dealer-1 took one binding only: its own, for the first batch.
  CHECK(count(d, d.dealer("dealer-1").db_url,
              "SELECT COUNT(*) FROM batches WHERE batch_id = ? AND state = 'bound'",
              {second}) == 1);
  CHECK(count(d, d.dealer("dealer-2").db_url,
              "SELECT COUNT(*) FROM batches WHERE batch_id = ? AND state = 'bound'",
              {second}) == 0);

  // The model owner collecting the first batch with dealer-2's endpoint at dealer-1's server
  // (what a registry read after the re-registration gives): refused for dealer-2, and no
  // share summed.
  grpcsvc::CollectOptions as_owner;
  as_owner.tls = d.certs().client("model_owner").tls;
  std::vector<grpcsvc::DealerEndpoint> endpoints;
  for (const auto& id : ids) {
    endpoints.push_back({id, record_of(registry_of(d), id).at("grpc_endpoint")});
  }
  REQUIRE(endpoints[1].grpc_endpoint == record_of(honest, "dealer-1").at("grpc_endpoint"));
  std::uint64_t summed = 0;
  const std::string collect = test::error_message([&] {
    grpcsvc::collect_shares(endpoints, first, material::BatchLayout::all_arithmetic(300), as_owner,
                            [&](std::uint64_t, ByteView) { ++summed; });
  });
  CHECK_MESSAGE(collect.find(kMismatch) != std::string::npos, collect);
  CHECK(summed == 0);

  // The client asking "dealer-2" for its seed at dealer-1's REST URL: refused before the
  // request is sent, so dealer-1 releases nothing.
  const std::string seed = test::error_message([&] {
    net::call_json(d.certs().client("client").to("dealer-2"), verb::post,
                   std::string(record_of(registry_of(d), "dealer-2").at("rest_url")) + "/v1/seed",
                   {{"batch_id", first}});
  });
  CHECK_MESSAGE(seed.find(kMismatch) != std::string::npos, seed);
  // (The share collection above may have streamed dealer-1's own share, legitimately, before
  // dealer-2's refusal stopped it: only seed releases count here.)
  CHECK(count(d, d.dealer("dealer-1").db_url,
              "SELECT COUNT(*) FROM releases WHERE batch_id = ? AND kind = 'seed'", {first}) == 0);

  // A group with dealer-2's REST endpoint at dealer-1: refused by the super dealer's first
  // group call; with only its gRPC endpoint there, dealer-1 and dealer-3 refuse it in the mesh
  // key exchange. Neither forms the group.
  const auto form = [&] {
    net::call_json(d.certs().client("operator").to("super_dealer"), verb::post,
                   d.super_dealer.url + "/v1/groups", {{"dealers", ids}});
  };
  const std::string rest_group = test::error_message(form);
  CHECK_MESSAGE(rest_group.find(kMismatch) != std::string::npos, rest_group);
  impersonate(d, honest, false, true);
  const std::string mesh_group = test::error_message(form);
  CHECK_MESSAGE(mesh_group.find(kMismatch) != std::string::npos, mesh_group);
  CHECK(count(d, d.super_dealer.db_url,
              "SELECT COUNT(*) FROM dealer_groups WHERE state = 'ready'") == 0);

  // dealer-2 back on its own endpoints: the same group forms (the refusals were the pins).
  impersonate(d, honest, false, false);
  REQUIRE_NOTHROW(d.form_group(ids));
}

struct Route {
  std::string server;  // "super_dealer", "dealer" (dealer-1) or "model_owner"
  verb method;
  std::string path;
  std::vector<std::string> roles;  // the roles that may use it
  json body;
};

std::vector<Route> routes(const std::vector<std::string>& ids) {
  const json group = {{"dealers", ids}};
  const json members = json::array({{{"dealer_id", "dealer-1"}, {"grpc_endpoint", "h:1"}}});
  return {
      {"super_dealer",
       verb::post,
       "/v1/dealers",
       {"dealer"},
       // The caller's own id, so that only the role refuses it.
       {{"dealer_id", "IDENTITY"},
        {"rest_url", "https://127.0.0.1:1"},
        {"grpc_endpoint", "127.0.0.1:1"}}},
      {"super_dealer", verb::get, "/v1/dealers", {"operator"}, nullptr},
      {"super_dealer",
       verb::post,
       "/v1/models",
       {"model_owner"},
       {{"model_id", "stolen"}, {"plan", json::array({{{"type", "TRIPLE"}, {"count", 1}}})}}},
      {"super_dealer", verb::get, "/v1/models/m", {"operator", "model_owner"}, nullptr},
      {"super_dealer",
       verb::post,
       "/v1/batch_id",
       {"model_owner"},
       {{"model_id", "m"}, {"dealers", ids}, {"client_identity", "client"}}},
      {"super_dealer",
       verb::post,
       "/v1/mask_set",
       {"model_owner"},
       {{"model_id", "m"}, {"dealers", ids}}},
      {"super_dealer",
       verb::get,
       "/v1/batches/" + kUnknownBatch,
       {"operator", "model_owner"},
       nullptr},
      {"super_dealer", verb::post, "/v1/groups", {"operator"}, group},
      {"super_dealer", verb::get, "/v1/groups", {"operator"}, nullptr},
      {"super_dealer",
       verb::post,
       "/v1/pools",
       {"operator"},
       {{"model_id", "m"}, {"dealers", ids}}},
      {"super_dealer", verb::get, "/v1/pools", {"operator"}, nullptr},
      {"dealer",
       verb::post,
       "/v1/bind",
       {"super_dealer"},
       {{"batch_id", kUnknownBatch}, {"model_owner_identity", "a"}, {"client_identity", "b"}}},
      {"dealer",
       verb::post,
       "/v1/groups",
       {"super_dealer"},
       {{"group_id", group_key(ids)}, {"members", ids}}},
      {"dealer",
       verb::post,
       "/v1/groups/keys",
       {"super_dealer"},
       {{"group_id", group_key(ids)}, {"members", members}}},
      {"dealer", verb::post, "/v1/generations", {"super_dealer"}, json::object()},
      {"dealer", verb::get, "/v1/generations/" + kUnknownBatch, {"super_dealer"}, nullptr},
      {"dealer",
       verb::post,
       "/v1/batches/" + kUnknownBatch + "/fail",
       {"super_dealer"},
       json::object()},
      {"dealer", verb::post, "/v1/seed", {"client"}, {{"batch_id", kUnknownBatch}}},
      {"model_owner",
       verb::post,
       "/v1/model_inference",
       {"client"},
       {{"model_id", "m"}, {"dealers", ids}}},
      {"model_owner", verb::get, "/v1/models", {"client", "operator"}, nullptr},
  };
}

void run_roles_case(db::Dialect dialect) {
  test::Deployment d(dialect, 3);
  model_with_batches(d, 10, 1);
  const auto ids = d.dealer_ids();
  const json registry_before = registry_of(d);

  // identity -> role (make-certs.sh's default by name).
  const std::vector<std::pair<std::string, std::string>> holders = {
      {"operator", "operator"},
      {"super_dealer", "super_dealer"},
      {"dealer-3", "dealer"},
      {"model_owner", "model_owner"},
      {"client", "client"}};
  int tried = 0;
  for (const auto& route : routes(ids)) {
    const test::ActorProcess& server = route.server == "super_dealer" ? d.super_dealer
                                       : route.server == "dealer"     ? d.dealer("dealer-1")
                                                                      : d.model_owner;
    for (const auto& [identity, role] : holders) {
      if (std::find(route.roles.begin(), route.roles.end(), role) != route.roles.end()) continue;
      CAPTURE(identity);
      CAPTURE(route.path);
      json body = route.body;
      if (body.is_object() && body.contains("dealer_id")) body["dealer_id"] = identity;
      const auto res =
          net::fetch(d.certs().client(identity).to(server.identity), route.method,
                     server.url + route.path, body.is_null() ? std::string() : body.dump());
      CHECK(res.result() == net::http::status::forbidden);
      const json problem = json::parse(res.body(), nullptr, false);
      REQUIRE(problem.is_object());
      const std::string detail = problem.value("detail", "");
      CHECK_MESSAGE(detail.find("needs the role") != std::string::npos, detail);
      CHECK_MESSAGE(detail.find("holds the role " + role) != std::string::npos, detail);
      ++tried;
    }
  }
  CHECK(tried == 77);
  // Nothing was stored by a refused call: no model, no registration, no group, no pool, no
  // binding, no inference.
  CHECK(count(d, d.super_dealer.db_url, "SELECT COUNT(*) FROM models") == 1);
  CHECK(registry_of(d) == registry_before);
  CHECK(count(d, d.super_dealer.db_url, "SELECT COUNT(*) FROM dealer_groups") == 0);
  CHECK(count(d, d.super_dealer.db_url, "SELECT COUNT(*) FROM pools") == 0);
  CHECK(count(d, d.super_dealer.db_url,
              "SELECT COUNT(*) FROM batches WHERE state <> 'available'") == 0);
  CHECK(count(d, d.model_owner.db_url, "SELECT COUNT(*) FROM inferences") == 0);
  for (const auto& id : ids) {
    CHECK(count(d, d.dealer(id).db_url, "SELECT COUNT(*) FROM dealer_groups") == 0);
  }
}

}  // namespace

TEST_CASE(
    "identity: a dealer registered at another dealer's servers is refused by every caller "
    "(PostgreSQL)") {
  run_pinning_case(db::Dialect::postgresql);
}

TEST_CASE("identity: the same on MariaDB") {
  run_pinning_case(db::Dialect::mysql);
}

TEST_CASE("roles: every role is refused with 403 on every route it must not use (PostgreSQL)") {
  run_roles_case(db::Dialect::postgresql);
}

TEST_CASE("roles: the same on MariaDB") {
  run_roles_case(db::Dialect::mysql);
}

TEST_CASE("identity: a client's certificate cannot serve TLS, REST nor gRPC") {
  test::Certificates certs({"client", "model_owner", "dealer-1"});
  boost::asio::io_context io;
  boost::asio::thread_pool workers(1);
  net::ServerOptions options;
  options.tls =
      net::TlsOptions{(certs.dir() / "client.pem").string(), (certs.dir() / "client.key").string(),
                      (certs.dir() / "ca.pem").string(), true};
  net::HttpServer server(io, workers, options, std::make_shared<net::Router>());
  server.start();
  std::thread thread([&] { io.run(); });
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/healthz";
  // Even a caller that expects exactly this identity, or any, refuses it.
  const std::string pinned = test::error_message(
      [&] { net::fetch(certs.client("model_owner").to("client"), verb::get, url); });
  CHECK_MESSAGE(pinned.find("TLS handshake with") != std::string::npos, pinned);
  CHECK_THROWS_AS(net::fetch(certs.client("model_owner"), verb::get, url), Error);
  server.stop();
  io.stop();
  thread.join();
  workers.join();

  // gRPC: a mesh server with a client's certificate is refused in the handshake by a dealer
  // that expects exactly that identity there; the server never hears the call.
  NoKeys keys;
  grpcsvc::MeshService service(keys, 1 << 20);
  grpcsvc::GrpcServer impostor("127.0.0.1", 0, options.tls, {&service});
  grpcsvc::MeshNetwork dealer(service, {certs.client("dealer-1").tls, std::chrono::seconds(3)});
  const grpcsvc::MeshMember member{"client", "127.0.0.1:" + std::to_string(impostor.port())};
  // gRPC's own chain check refuses it (OpenSSL's purpose check) before the verifier sees
  // it, so the call fails as unreachable rather than with the verifier's reason.
  CHECK(test::error_code([&] { dealer.exchange_keys(member, mesh::v1::KeyExchangeRequest()); }) ==
        Errc::unavailable);
  CHECK(keys.asked == 0);
}
