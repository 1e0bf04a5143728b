// Dealers generate the material themselves (issue 4): the dealer mesh in process, then real
// deployments where the super dealer forms a group, keeps a pool full by generation, and the
// test combines the members' stored shares and verifies every relation and MAC; the converter
// serves generated material; a dealer killed during generation leaves no available batch.
#include <doctest/doctest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/ids.hpp"
#include "db_servers.hpp"
#include "deployment.hpp"
#include "grpc/mesh_client.hpp"
#include "grpc/share_service.hpp"
#include "material/verify.hpp"
#include "net/json_call.hpp"

using namespace ppi;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Every material type, small enough for a test, large enough to cross a 4 MiB chunk.
material::MaterialPlan every_type_plan(int triples) {
  return material::MaterialPlan::from_json(json{
      {{"type", "TRIPLE"}, {"count", triples}},
      {{"type", "MATRIX_TRIPLE_4_8_3"}, {"count", 3}},
      {{"type", "WEIGHT_MASK_8_3"}, {"count", 1}},
      {{"type", "MASKED_TRIPLE_4_8_3"}, {"count", 2}},
      {{"type", "TRUNC_16"}, {"count", 40}},
      {{"type", "BIT_TRIPLE"}, {"count", 8}},
      {{"type", "DABIT"}, {"count", 64}},
  });
}

std::string join(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

// Combines every member's stored share and checks every relation and MAC.
void verify_generated(test::Deployment& d, const std::string& batch_id,
                      const material::MaterialPlan& plan) {
  CAPTURE(batch_id);
  std::vector<Bytes> shares;
  for (const auto& id : d.dealer_ids()) {
    shares.push_back(d.dealer_share(id, batch_id));
    REQUIRE(shares.back().size() == 16 + 32 * plan.element_count());
    auto s = d.open(d.dealer(id).db_url)->acquire();
    auto row =
        s.exec("SELECT state, plan, dealer_group FROM batches WHERE batch_id = ?", {batch_id});
    REQUIRE(row.rows.size() == 1);
    CHECK(row.rows[0].get_string(0) == "prepared");
    CHECK(row.rows[0].get_string(1) == plan.canonical());
    CHECK(row.rows[0].get_string(2) == group_key(check_dealer_group(d.dealer_ids())));
  }
  // No member's share is the material: two members' shares differ.
  CHECK(shares[0] != shares[1]);
  auto opened = material::open_dealer_shares(plan, shares);
  auto report = material::verify_batch(plan, opened);
  CHECK_MESSAGE(report.ok(), (report.failures.empty() ? "" : report.failures[0]));
  CHECK(report.macs_checked + report.boolean_elements == plan.element_count());
  CHECK(report.boolean_elements > 0);
  CHECK(opened.alpha != 0);
}

// The two parties' shares after a conversion, combined and verified.
void verify_converted(test::Deployment& d, const std::string& batch_id,
                      const material::MaterialPlan& plan) {
  auto report = material::verify_batch(plan, d.open_converted(batch_id, plan));
  CHECK_MESSAGE(report.ok(), (report.failures.empty() ? "" : report.failures[0]));
  CHECK(report.macs_checked + report.boolean_elements == plan.element_count());
}

void generate_and_verify(db::Dialect dialect, int dealers, int batches,
                         const material::MaterialPlan& plan) {
  test::Deployment d(dialect, dealers, test::pool_env(batches, batches));
  std::string out;
  REQUIRE_MESSAGE(d.register_model("gen", plan, out) == 0, out);
  auto ids = d.dealer_ids();
  d.form_group(ids);
  // Keys are agreed and sealed at rest on every member.
  for (const auto& id : ids) {
    auto s = d.open(d.dealer(id).db_url)->acquire();
    auto g = s.exec("SELECT state, keys_sealed FROM dealer_groups");
    REQUIRE(g.rows.size() == 1);
    CHECK(g.rows[0].get_string(0) == "ready");
    CHECK(g.rows[0].get_bytes(1).size() == 12 + 2 + 34 * ids.size() + 16);
  }
  d.add_pool("gen", ids);
  auto available = d.wait_available("gen", ids, batches, 180s);
  CHECK(available.size() == static_cast<std::size_t>(batches));
  for (const auto& b : available) verify_generated(d, b, plan);
}

class RefusingKeys final : public grpcsvc::GroupKeyResponder {
 public:
  mesh::v1::KeyExchangeResponse exchange(const std::string&,
                                         const mesh::v1::KeyExchangeRequest&) override {
    throw Error(Errc::not_found, "no groups here");
  }
};

// Three members of a mesh in this process, each with its own certificate.
struct MeshNode {
  MeshNode(const test::Certificates& certs, const std::string& id)
      : service(keys, 64u << 20),
        server("127.0.0.1", 0, certs.client(id).tls, {&service}),
        network(service, {certs.client(id).tls, 3000ms}) {}
  RefusingKeys keys;
  grpcsvc::MeshService service;
  grpcsvc::GrpcServer server;
  grpcsvc::MeshNetwork network;
};

}  // namespace

TEST_CASE("mesh: chunked messages routed by sender and tag; outsiders and absent members named") {
  test::Certificates certs({"dealer-1", "dealer-2", "dealer-3", "model_owner"});
  std::vector<std::unique_ptr<MeshNode>> nodes;
  std::vector<grpcsvc::MeshMember> members;
  for (const char* id : {"dealer-1", "dealer-2", "dealer-3"}) {
    nodes.push_back(std::make_unique<MeshNode>(certs, id));
    members.push_back({id, "127.0.0.1:" + std::to_string(nodes.back()->server.port())});
  }
  const std::string session = "11111111-2222-4333-8444-555555555555";
  // 9 MiB: three gRPC messages of at most 4 MiB.
  Bytes big(9u << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 131 + 7);
  {
    // Member 2 opens late: member 0's message waits for it (retried), then arrives.
    auto m0 = nodes[0]->network.session(session, members, 0);
    auto m1 = nodes[1]->network.session(session, members, 1);
    m0->send(2, 7, big);
    m0->send(1, 7, Bytes{1, 2, 3});
    m1->send(0, 9, Bytes{});
    std::this_thread::sleep_for(200ms);
    auto m2 = nodes[2]->network.session(session, members, 2);
    CHECK(m2->receive(0, 7) == big);
    CHECK(m1->receive(0, 7) == Bytes{1, 2, 3});
    CHECK(m0->receive(1, 9).empty());
    // The count moves when a delivery's RPC completes, which may be after the peer has the
    // message: wait for it rather than race it.
    for (int i = 0; i < 500 && m0->bytes_sent() < big.size() + 3; ++i)
      std::this_thread::sleep_for(10ms);
    CHECK(m0->bytes_sent() == big.size() + 3);
    // Nothing under another tag: the wait ends with an error naming the member.
    try {
      m2->receive(1, 8);
      FAIL("received a message never sent");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::unavailable);
      CHECK(std::string(e.what()).find("dealer-2") != std::string::npos);
    }
    CHECK_THROWS_AS(m0->send(0, 1, Bytes{1}), Error);  // not to itself
  }
  {
    // A CA-signed identity that is not a member is refused by the receiver.
    auto m0 = nodes[0]->network.session(session, members, 0);
    std::vector<grpcsvc::MeshMember> outsider_view = members;
    outsider_view[1].id = "model_owner";  // the outsider believes it is member 1
    MeshNode outsider(certs, "model_owner");
    auto intruder = outsider.network.session(session, outsider_view, 1);
    intruder->send(0, 5, Bytes{9});
    try {
      m0->receive(1, 5);
      FAIL("a message from outside the group was delivered");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::unavailable);
    }
  }
  {
    // A member whose server is down: the sender's error names it, and so does a receive.
    auto m0 = nodes[0]->network.session(session, members, 0);
    nodes[2]->server.shutdown();
    m0->send(2, 1, Bytes(100, 1));
    try {
      m0->receive(2, 1);
      FAIL("a message came from a stopped member");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::unavailable);
      CHECK(std::string(e.what()).find("dealer-3") != std::string::npos);
    }
    // Once the sender has given up, sending to that member fails at once.
    bool refused = false;
    for (std::uint64_t tag = 2; tag < 100 && !refused; ++tag) {
      try {
        m0->send(2, tag, Bytes{1});
        std::this_thread::sleep_for(100ms);
      } catch (const Error& e) {
        refused = e.code() == Errc::unavailable;
      }
    }
    CHECK(refused);
  }
}

TEST_CASE(
    "generation: 3 dealers on PostgreSQL fill a pool with verified material of every "
    "type; the converter serves it once") {
  const auto plan = every_type_plan(200000);  // 600 k elements: several 4 MiB chunks
  test::Deployment d(db::Dialect::postgresql, 3, test::pool_env(2, 2));
  std::string out;
  REQUIRE_MESSAGE(d.register_model("gen", plan, out) == 0, out);
  auto ids = d.dealer_ids();
  d.form_group(ids);
  d.add_pool("gen", ids);
  auto available = d.wait_available("gen", ids, 2, 180s);
  for (const auto& b : available) verify_generated(d, b, plan);

  // The converter end to end on generated material, twice: two different batches.
  std::set<std::string> served;
  for (int i = 0; i < 2; ++i) {
    REQUIRE_MESSAGE(d.run_client({"convert", "--model=gen", "--dealers=" + join(ids)}, out) == 0,
                    out);
    auto at = out.find("batch_id=");
    REQUIRE(at != std::string::npos);
    std::string batch = out.substr(at + 9, 36);
    CHECK(served.insert(batch).second);
    verify_converted(d, batch, plan);
  }
  // The pool refills behind the conversions.
  auto refilled = d.wait_available("gen", ids, 2, 180s);
  for (const auto& b : refilled) CHECK(served.count(b) == 0);
}

TEST_CASE("generation: 4 dealers on MariaDB generate verified material of every type") {
  generate_and_verify(db::Dialect::mysql, 4, 1, every_type_plan(2000));
}

TEST_CASE("generation: 10 dealers generate verified material of every type") {
  generate_and_verify(db::Dialect::postgresql, 10, 1, every_type_plan(2000));
}

TEST_CASE("generation: bad group and pool requests get clear errors") {
  test::Deployment d(db::Dialect::postgresql, 3, test::pool_env(1, 1));
  auto mo = d.certs().client("model_owner");
  auto code_of = [&](const net::ClientOptions& who, const std::string& url, const json& body) {
    try {
      net::call_json(who, net::http::verb::post, url, body);
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::internal;
  };
  // Groups and pools are the operator's (role checks: test_identity).
  auto op = d.certs().client("operator");
  const std::string groups = d.super_dealer.url + "/v1/groups";
  CHECK(code_of(op, groups, {{"dealers", {"dealer-1", "dealer-2"}}}) == Errc::invalid_argument);
  CHECK(code_of(op, groups, {{"dealers", {"dealer-1", "dealer-2", "dealer-9"}}}) ==
        Errc::not_found);
  CHECK(code_of(op, groups, {{"dealers", {"dealer-1", "dealer-1", "dealer-2"}}}) ==
        Errc::invalid_argument);
  CHECK(code_of(mo, groups, {{"dealers", {"dealer-1", "dealer-2", "dealer-3"}}}) ==
        Errc::permission_denied);
  // Dealers take group and generation calls from the super dealer only.
  const std::string dealer_groups = d.dealer("dealer-1").url + "/v1/groups";
  CHECK(code_of(mo, dealer_groups,
                {{"group_id", "dealer-1,dealer-2,dealer-3"},
                 {"members", {"dealer-1", "dealer-2", "dealer-3"}}}) == Errc::permission_denied);
  auto sd = d.certs().client("super_dealer");
  CHECK(code_of(sd, dealer_groups,
                {{"group_id", "dealer-1,dealer-2"}, {"members", {"dealer-2", "dealer-1"}}}) ==
        Errc::invalid_argument);
  CHECK(code_of(sd, d.dealer("dealer-1").url + "/v1/generations",
                {{"batch_id", "11111111-2222-4333-8444-555555555555"},
                 {"model_id", "m"},
                 {"group_id", "dealer-1,dealer-2,dealer-3"},
                 {"plan", json::array({{{"type", "TRIPLE"}, {"count", 1}}})},
                 {"members", json::array()}}) == Errc::invalid_argument);
  // A pool needs a registered model and a ready group.
  std::string out;
  auto plan = material::MaterialPlan::from_json(json::parse(R"([{"type":"TRIPLE","count":10}])"));
  REQUIRE_MESSAGE(d.register_model("m", plan, out) == 0, out);
  const std::string pools = d.super_dealer.url + "/v1/pools";
  auto ids = d.dealer_ids();
  CHECK(code_of(op, pools, {{"model_id", "m"}, {"dealers", ids}}) == Errc::not_found);
  CHECK(code_of(op, pools, {{"model_id", "nope"}, {"dealers", ids}}) == Errc::not_found);
  d.form_group(ids);
  CHECK(code_of(d.certs().client("client"), pools, {{"model_id", "m"}, {"dealers", ids}}) ==
        Errc::permission_denied);
  CHECK(code_of(mo, pools, {{"model_id", "m"}, {"dealers", ids}}) == Errc::permission_denied);
  d.form_group(ids);  // forming it again is a no-op
  d.add_pool("m", ids);
  auto listed = net::call_json(op, net::http::verb::get, pools);
  REQUIRE(listed.at("pools").size() == 1);
  CHECK(listed["pools"][0]["group_id"] == group_key(ids));
}

TEST_CASE(
    "generation: a dealer killed during generation leaves no available batch; the pool "
    "refills after its restart and no batch is served twice") {
  const auto plan = material::MaterialPlan::from_json(
      json::parse(R"([{"type":"TRIPLE","count":400000},{"type":"DABIT","count":64}])"));
  test::Deployment d(db::Dialect::postgresql, 3, test::pool_env(1, 1));
  std::string out;
  REQUIRE_MESSAGE(d.register_model("k", plan, out) == 0, out);
  auto ids = d.dealer_ids();
  d.form_group(ids);
  d.add_pool("k", ids);
  // As soon as dealer-3 has started generating, kill it.
  auto db3 = d.open(d.dealer("dealer-3").db_url);
  std::string victim;
  for (int i = 0; i < 60000 && victim.empty(); ++i) {
    auto s = db3->acquire();
    auto r = s.exec("SELECT batch_id FROM batches WHERE state = 'generating'");
    if (!r.rows.empty())
      victim = r.rows[0].get_string(0);
    else
      std::this_thread::sleep_for(1ms);
  }
  REQUIRE(!victim.empty());
  d.kill(d.dealer("dealer-3"));
  std::string state_at_kill = db3->acquire()
                                  .exec("SELECT state FROM batches WHERE batch_id = ?", {victim})
                                  .rows.at(0)
                                  .get_string(0);
  auto registry = d.open(d.super_dealer.db_url);
  auto sd_state = [&](const std::string& batch) {
    return registry->acquire()
        .exec("SELECT state FROM batches WHERE batch_id = ?", {batch})
        .rows.at(0)
        .get_string(0);
  };
  if (state_at_kill == "generating") {
    // The survivors time out on the mesh; the super dealer fails the batch.
    for (int i = 0; i < 600 && sd_state(victim) == "generating"; ++i) {
      std::this_thread::sleep_for(100ms);
    }
    CHECK(sd_state(victim) == "failed");
    CHECK(registry->acquire()
              .exec("SELECT COUNT(*) FROM batches WHERE state = 'available'")
              .rows[0]
              .get_int(0) == 0);
  } else {
    MESSAGE("dealer-3 had prepared its share before the kill landed: " << state_at_kill);
  }
  d.restart(d.dealer("dealer-3"));
  // Its unfinished generation is discarded at start.
  if (state_at_kill == "generating") {
    CHECK(db3->acquire()
              .exec("SELECT state FROM batches WHERE batch_id = ?", {victim})
              .rows.at(0)
              .get_string(0) == "failed");
  }
  auto available = d.wait_available("k", ids, 1, 180s);
  if (state_at_kill == "generating") {
    CHECK(std::find(available.begin(), available.end(), victim) == available.end());
  }
  verify_generated(d, available[0], plan);
  if (state_at_kill == "generating") {
    // Every member discarded its part of the failed batch.
    for (const auto& id : ids) {
      auto s = d.open(d.dealer(id).db_url)->acquire();
      CHECK(s.exec("SELECT COUNT(*) FROM batch_chunks WHERE batch_id = ?", {victim})
                .rows[0]
                .get_int(0) == 0);
    }
  }
  // Two conversions get two different batches; each batch was released at most once.
  std::set<std::string> served;
  for (int i = 0; i < 2; ++i) {
    d.wait_available("k", ids, 1, 180s);
    REQUIRE_MESSAGE(d.run_client({"convert", "--model=k", "--dealers=" + join(ids)}, out) == 0,
                    out);
    auto at = out.find("batch_id=");
    REQUIRE(at != std::string::npos);
    CHECK(served.insert(out.substr(at + 9, 36)).second);
  }
  CHECK(served.count(victim) == 0);
  for (const auto& id : ids) {
    auto s = d.open(d.dealer(id).db_url)->acquire();
    CHECK(s.exec("SELECT COUNT(*) FROM (SELECT batch_id, kind FROM releases GROUP BY batch_id, "
                 "kind HAVING COUNT(*) > 1) AS twice")
              .rows[0]
              .get_int(0) == 0);
  }
}
