// The converter end to end (issue 3): super dealer, n dealers, model owner and client as real
// processes with mTLS on real databases; the client's share (expanded from its stored seeds)
// plus the model owner's share (from its database) must reconstruct the material, relations
// and MACs included. Then exactly-once binding under concurrency, and the refusals.
#include <doctest/doctest.h>

#include <csignal>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "audit_check.hpp"
#include "client/client_store.hpp"
#include "db/chunks.hpp"
#include "deployment.hpp"
#include "grpc/share_collector.hpp"
#include "material/conversion.hpp"
#include "material/verify.hpp"
#include "net/json_call.hpp"

using namespace ppi;
using namespace std::chrono_literals;
using net::http::verb;
using nlohmann::json;

namespace {

material::MaterialPlan small_plan() {
  return material::MaterialPlan::from_json(json::parse(
      R"([{"type": "TRIPLE", "count": 500}, {"type": "MATRIX_TRIPLE_4_8_3", "count": 2},
          {"type": "TRUNC_16", "count": 20}, {"type": "DABIT", "count": 64}])"));
}

std::string join(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

// Reconstructs a converted batch from the two parties' databases and checks it.
void verify_conversion(test::Deployment& d, const std::string& batch_id,
                       const material::MaterialPlan& plan) {
  auto session = d.open(d.model_owner.db_url)->acquire();
  auto row = session.exec("SELECT state FROM inferences WHERE batch_id = ?", {batch_id});
  REQUIRE(row.rows.size() == 1);
  CHECK(row.rows[0].get_string(0) == "ready");
  const auto opened = d.open_converted(batch_id, plan);
  CHECK(opened.alpha == d.fixture_alpha(batch_id));
  auto report = material::verify_batch(plan, opened);
  CHECK_MESSAGE(report.ok(), (report.failures.empty() ? "" : report.failures[0]));
  CHECK(report.macs_checked + report.boolean_elements == plan.element_count());
}

void convert_and_verify(db::Dialect dialect, int dealer_count) {
  test::Deployment d(dialect, dealer_count);
  auto plan = small_plan();
  std::string out;
  REQUIRE_MESSAGE(d.register_model("mlp", plan, out) == 0, out);
  auto ids = d.dealer_ids();
  auto batches = d.load_batches("mlp", plan, ids, 1);

  REQUIRE_MESSAGE(d.run_client({"convert", "--model=mlp", "--dealers=" + join(ids)}, out) == 0,
                  out);
  CHECK(out.find("batch_id=" + batches[0]) != std::string::npos);
  verify_conversion(d, batches[0], plan);

  // Audit: the super dealer bound it to this pair; every dealer released both parts once
  // and retired the batch.
  auto sd = d.open(d.super_dealer.db_url)->acquire();
  auto b =
      sd.exec("SELECT state, model_owner_identity, client_identity FROM batches WHERE batch_id = ?",
              {batches[0]});
  CHECK(b.rows.at(0).get_string(0) == "bound");
  CHECK(b.rows.at(0).get_string(1) == "model_owner");
  CHECK(b.rows.at(0).get_string(2) == "client");
  for (const auto& id : ids) {
    auto s = d.open(d.dealer(id).db_url)->acquire();
    auto state = s.exec("SELECT state, shares_seed FROM batches WHERE batch_id = ?", {batches[0]});
    CHECK(state.rows.at(0).get_string(0) == "consumed");
    CHECK(state.rows.at(0).is_null(1));  // secrets deleted once consumed
    auto rel =
        s.exec("SELECT kind, recipient_identity FROM releases WHERE batch_id = ? ORDER BY kind",
               {batches[0]});
    REQUIRE(rel.rows.size() == 2);
    CHECK(rel.rows[0].get_string(0) == "seed");
    CHECK(rel.rows[0].get_string(1) == "client");
    CHECK(rel.rows[1].get_string(0) == "shares");
    CHECK(rel.rows[1].get_string(1) == "model_owner");
    CHECK(s.exec("SELECT COUNT(*) FROM batch_chunks WHERE batch_id = ?", {batches[0]})
              .rows.at(0)
              .get_int(0) == 0);
  }
  test::require_clean_audit(d);
}

}  // namespace

TEST_CASE("converter: 3 dealers on PostgreSQL reconstruct to verified material") {
  convert_and_verify(db::Dialect::postgresql, 3);
}

TEST_CASE("converter: 3 dealers on MariaDB reconstruct to verified material") {
  convert_and_verify(db::Dialect::mysql, 3);
}

TEST_CASE("converter: 10 dealers reconstruct to verified material") {
  convert_and_verify(db::Dialect::postgresql, 10);
}

TEST_CASE("converter: 50 concurrent requests never share a batch; the rest get no material") {
  for (auto dialect : {db::Dialect::postgresql, db::Dialect::mysql}) {
    CAPTURE(db::dialect_name(dialect));
    test::Deployment d(dialect, 3);
    auto plan = material::MaterialPlan::from_json(json::parse(R"([{"type":"TRIPLE","count":10}])"));
    std::string out;
    REQUIRE_MESSAGE(d.register_model("m", plan, out) == 0, out);
    auto loaded = d.load_batches("m", plan, d.dealer_ids(), 20);
    auto client = d.certs().client("client");
    std::vector<std::future<std::pair<int, std::string>>> calls;
    for (int i = 0; i < 50; ++i) {
      calls.push_back(std::async(std::launch::async, [&] {
        try {
          auto a = net::call_json(client, verb::post, d.model_owner.url + "/v1/model_inference",
                                  {{"model_id", "m"}, {"dealers", d.dealer_ids()}});
          return std::pair<int, std::string>{200, a.at("batch_id").get<std::string>()};
        } catch (const Error& e) {
          return std::pair<int, std::string>{static_cast<int>(e.code()), e.what()};
        }
      }));
    }
    std::set<std::string> granted;
    int no_material = 0;
    for (auto& c : calls) {
      auto [status, text] = c.get();
      if (status == 200) {
        CHECK(granted.insert(text).second);  // never the same batch twice
      } else {
        CHECK(status == static_cast<int>(Errc::unavailable));
        CHECK(text.find("no material available") != std::string::npos);
        ++no_material;
      }
    }
    CHECK(granted.size() == 20);
    CHECK(no_material == 30);
    CHECK(granted == std::set<std::string>(loaded.begin(), loaded.end()));
    auto sd = d.open(d.super_dealer.db_url)->acquire();
    CHECK(sd.exec("SELECT COUNT(*) FROM batches WHERE state = 'bound'").rows[0].get_int(0) == 20);
    CHECK(sd.exec("SELECT COUNT(*) FROM batches WHERE state <> 'bound'").rows[0].get_int(0) == 0);
    test::require_clean_audit(d);
  }
}

TEST_CASE("converter: bad requests get clear errors and store nothing") {
  test::Deployment d(db::Dialect::postgresql, 3);
  auto plan = material::MaterialPlan::from_json(json::parse(R"([{"type":"TRIPLE","count":100}])"));
  std::string out;
  REQUIRE_MESSAGE(d.register_model("m", plan, out) == 0, out);
  auto ids = d.dealer_ids();
  auto client = d.certs().client("client");
  auto code_of = [&](const net::ClientOptions& who, const std::string& url, const json& body) {
    try {
      net::call_json(who, verb::post, url, body);
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::internal;
  };
  const std::string mi = d.model_owner.url + "/v1/model_inference";
  // A model without a plan was a 500 (a JSON access error escaped the handler); a duplicated
  // key let the last value win.
  const auto owner = d.certs().client("model_owner");
  CHECK(code_of(owner, d.super_dealer.url + "/v1/models", {{"model_id", "m2"}}) ==
        Errc::invalid_argument);
  CHECK(net::fetch(client, verb::post, mi,
                   R"({"model_id": "nope", "model_id": "m", "dealers": ["dealer-1"]})")
            .result() == net::http::status::bad_request);

  CHECK(code_of(client, mi, {{"model_id", "nope"}, {"dealers", ids}}) == Errc::not_found);
  CHECK(code_of(client, mi, {{"model_id", "m"}, {"dealers", {"dealer-1"}}}) ==
        Errc::invalid_argument);
  std::vector<std::string> eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back("dealer-" + std::to_string(i));
  CHECK(code_of(client, mi, {{"model_id", "m"}, {"dealers", eleven}}) == Errc::invalid_argument);
  CHECK(code_of(client, mi, {{"model_id", "m"}, {"dealers", {"dealer-1", "dealer-1"}}}) ==
        Errc::invalid_argument);
  CHECK(
      code_of(client, mi, {{"model_id", "m"}, {"dealers", {"dealer-1", "dealer-2", "dealer-9"}}}) ==
      Errc::not_found);
  CHECK(code_of(client, mi, {{"model", "m"}}) == Errc::invalid_argument);
  // No batches loaded yet: no material.
  CHECK(code_of(client, mi, {{"model_id", "m"}, {"dealers", ids}}) == Errc::unavailable);
  auto malformed = net::fetch(client, verb::post, mi, "{not json");
  CHECK(malformed.result() == net::http::status::bad_request);
  auto oversized = net::fetch(client, verb::post, mi, std::string(2 << 20, ' '));
  CHECK(oversized.result() == net::http::status::payload_too_large);
  auto mo = d.open(d.model_owner.db_url)->acquire();
  CHECK(mo.exec("SELECT COUNT(*) FROM inferences").rows[0].get_int(0) == 0);

  // A real conversion, then every way to get at its parts again or from the wrong side.
  auto batches = d.load_batches("m", plan, ids, 2);
  REQUIRE_MESSAGE(d.run_client({"convert", "--model=m", "--dealers=" + join(ids)}, out) == 0, out);
  const std::string used = batches[0];
  const std::string seed_url = d.dealer("dealer-1").url + "/v1/seed";
  CHECK(code_of(client, seed_url, {{"batch_id", used}}) == Errc::conflict);  // used
  CHECK(code_of(client, seed_url, {{"batch_id", "00000000-0000-4000-8000-000000000000"}}) ==
        Errc::not_found);
  CHECK(code_of(client, seed_url, {{"batch_id", "NOT-A-UUID"}}) == Errc::invalid_argument);

  // The second batch, bound by hand through the model owner... by the other client.
  auto other = d.certs().client("client-2");
  auto bound = net::call_json(other, verb::post, mi, {{"model_id", "m"}, {"dealers", ids}});
  std::string batch = bound.at("batch_id").get<std::string>();
  CHECK(batch == batches[1]);
  // The model owner's certificate cannot fetch seeds; another client cannot either.
  CHECK(code_of(d.certs().client("model_owner"), seed_url, {{"batch_id", batch}}) ==
        Errc::permission_denied);
  CHECK(code_of(client, seed_url, {{"batch_id", batch}}) == Errc::permission_denied);
  // The client's certificate cannot fetch masked shares.
  grpcsvc::CollectOptions as_client;
  as_client.tls = d.certs().client("client-2").tls;
  std::vector<grpcsvc::DealerEndpoint> endpoints;
  auto registry =
      net::call_json(d.certs().client("operator"), verb::get, d.super_dealer.url + "/v1/dealers");
  for (const auto& e : registry.at("dealers")) {
    endpoints.push_back({e.at("dealer_id"), e.at("grpc_endpoint")});
  }
  try {
    grpcsvc::collect_shares(endpoints, batch, material::BatchLayout::all_arithmetic(1), as_client,
                            [](std::uint64_t, ByteView) {});
    FAIL("the client fetched masked shares");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::permission_denied);
  }
  // Expired: the seed is refused with 410 and the dealer retires the batch.
  {
    auto s = d.open(d.dealer("dealer-2").db_url)->acquire();
    s.exec("UPDATE batches SET expires_at_unix = 0 WHERE batch_id = ?", {batch});
  }
  CHECK(code_of(other, d.dealer("dealer-2").url + "/v1/seed", {{"batch_id", batch}}) == Errc::gone);
  CHECK(code_of(other, d.dealer("dealer-2").url + "/v1/seed", {{"batch_id", batch}}) == Errc::gone);
  // Binding calls are for the super dealer only.
  CHECK(code_of(client, d.dealer("dealer-3").url + "/v1/bind",
                {{"batch_id", batch}, {"model_owner_identity", "x"}, {"client_identity", "y"}}) ==
        Errc::permission_denied);
}

TEST_CASE("converter: a dealer killed mid-stream fails the request and leaves no share") {
  test::Deployment d(db::Dialect::postgresql, 3);
  // 1.5 million elements: 48 MB per dealer, long enough a stream to be cut.
  auto plan =
      material::MaterialPlan::from_json(json::parse(R"([{"type":"TRIPLE","count":500000}])"));
  std::string out;
  REQUIRE_MESSAGE(d.register_model("big", plan, out) == 0, out);
  auto ids = d.dealer_ids();
  auto batches = d.load_batches("big", plan, ids, 1);
  auto client = d.certs().client("client");
  auto call = std::async(std::launch::async, [&] {
    try {
      net::call_json(client, verb::post, d.model_owner.url + "/v1/model_inference",
                     {{"model_id", "big"}, {"dealers", ids}});
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::internal;
  });
  // As soon as dealer-3 has opened its stream, kill it.
  auto db3 = d.open(d.dealer("dealer-3").db_url);
  for (int i = 0; i < 20000; ++i) {
    auto s = db3->acquire();
    if (s.exec("SELECT COUNT(*) FROM releases WHERE kind = 'shares'").rows[0].get_int(0) > 0) break;
    std::this_thread::sleep_for(1ms);
  }
  ::kill(d.dealer("dealer-3").process->pid(), SIGKILL);
  CHECK(call.get() == Errc::unavailable);
  auto mo = d.open(d.model_owner.db_url)->acquire();
  CHECK(mo.exec("SELECT state FROM inferences WHERE batch_id = ?", {batches[0]})
            .rows.at(0)
            .get_string(0) == "failed");
  CHECK(mo.exec("SELECT COUNT(*) FROM share_chunks").rows[0].get_int(0) == 0);
  auto s3 = db3->acquire();
  CHECK(s3.exec("SELECT shares_completed_at IS NULL FROM batches WHERE batch_id = ?", {batches[0]})
            .rows.size() == 1);
}
