// Weight masks delivered once per (model, dealer group) (issue 10 item 4): a model registered
// with a plan and a mask plan (a first-pass plan split by batch_plan_of / mask_plan_of) gets
// one mask set per group from its pool; the model owner collects it once, on its first
// conversion, and every batch's MASKED_TRIPLEs verify against its B. Its seeds go to nobody,
// it goes to the model's owner only, and /v1/batch_id never hands it out.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/ids.hpp"
#include "db/chunks.hpp"
#include "deployment.hpp"
#include "error_code.hpp"
#include "material/mask_pairing.hpp"
#include "material/verify.hpp"
#include "model_owner/mo_store.hpp"
#include "net/json_call.hpp"

using namespace ppi;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Two masks of one shape and one of another, each used by MASKED_TRIPLEs, among per-inference
// items: what a program's first pass consumes.
material::MaterialPlan first_pass_plan() {
  return material::MaterialPlan::from_json(json{
      {{"type", "TRIPLE"}, {"count", 500}},
      {{"type", "WEIGHT_MASK_8_3"}, {"count", 2}},
      {{"type", "MASKED_TRIPLE_4_8_3"}, {"count", 3}},
      {{"type", "TRUNC_16"}, {"count", 10}},
      {{"type", "WEIGHT_MASK_5_2"}, {"count", 1}},
      {{"type", "MASKED_TRIPLE_2_5_2"}, {"count", 2}},
      {{"type", "DABIT"}, {"count", 64}},
  });
}

json call(const net::ClientOptions& who, net::http::verb method, const std::string& url,
          const json& body = nullptr) {
  return net::call_json(who, method, url, body);
}

std::optional<Errc> refusal(const net::ClientOptions& who, const std::string& url,
                            const json& body) {
  return test::error_code([&] { call(who, net::http::verb::post, url, body); });
}

// Registers the model with the super dealer (as its owner) and in the model owner's database,
// as `model_owner register` does.
void register_masked(test::Deployment& d, const std::string& model_id,
                     const material::MaterialPlan& plan, const material::MaterialPlan& mask_plan) {
  call(d.certs().client("model_owner"), net::http::verb::post, d.super_dealer.url + "/v1/models",
       {{"model_id", model_id}, {"plan", plan.to_json()}, {"mask_plan", mask_plan.to_json()}});
  model_owner::ModelOwnerStore(d.open(d.model_owner.db_url))
      .save_model(model_id, plan.canonical(), {}, {}, mask_plan.canonical());
}

// The super dealer's mask set rows of (model, group): id and state.
std::vector<std::pair<std::string, std::string>> mask_set_rows(test::Deployment& d,
                                                               const std::string& model_id,
                                                               const std::string& group) {
  auto s = d.open(d.super_dealer.db_url)->acquire();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& row : s.exec("SELECT batch_id, state FROM batches WHERE model_id = ? AND "
                                "dealer_group = ? AND kind = 'mask_set' ORDER BY created_at",
                                {model_id, group})
                             .rows) {
    out.emplace_back(row.get_string(0), row.get_string(1));
  }
  return out;
}

// The values of the model owner's mask set: B, which it holds in the clear (mo_clear).
std::vector<u128> held_masks(const model_owner::MaskSetShare& held,
                             const material::MaterialPlan& mask_plan) {
  const Bytes none(held.elements.size(), 0);
  return material::open_batch(material::BatchLayout(mask_plan), held.mac_key_share, held.elements,
                              0, none)
      .values;
}

void masks_once_per_group(db::Dialect dialect) {
  const auto first_pass = first_pass_plan();
  const auto plan = material::batch_plan_of(first_pass);
  const auto mask_plan = material::mask_plan_of(first_pass);
  test::Deployment d(dialect, 3, test::pool_env(2, 2));
  register_masked(d, "masked", plan, mask_plan);
  const auto ids = d.dealer_ids();
  const std::string group = group_key(check_dealer_group(ids));
  d.form_group(ids);
  d.add_pool("masked", ids);
  const std::string mask_set_id = d.wait_mask_set("masked", ids, 180s);
  auto batches = d.wait_available("masked", ids, 2, 180s);
  CHECK(std::find(batches.begin(), batches.end(), mask_set_id) == batches.end());

  // The dealers' mask set is B with its MACs, every relation of the mask plan verified.
  std::vector<Bytes> shares;
  for (const auto& id : ids) {
    shares.push_back(d.dealer_share(id, mask_set_id));
    auto s = d.open(d.dealer(id).db_url)->acquire();
    auto row =
        s.exec("SELECT kind, plan, mask_plan FROM batches WHERE batch_id = ?", {mask_set_id});
    REQUIRE(row.rows.size() == 1);
    CHECK(row.rows[0].get_string(0) == "mask_set");
    CHECK(row.rows[0].get_string(1) == mask_plan.canonical());
    CHECK(row.rows[0].get_string(2).empty());
    auto batch =
        s.exec("SELECT kind, plan, mask_plan FROM batches WHERE batch_id = ?", {batches[0]});
    REQUIRE(batch.rows.size() == 1);
    CHECK(batch.rows[0].get_string(0) == "batch");
    CHECK(batch.rows[0].get_string(1) == plan.canonical());
    CHECK(batch.rows[0].get_string(2) == mask_plan.canonical());
  }
  const auto dealt = material::open_dealer_shares(mask_plan, shares);
  const auto dealt_report = material::verify_batch(mask_plan, dealt);
  CHECK_MESSAGE(dealt_report.ok(), (dealt_report.failures.empty() ? "" : dealt_report.failures[0]));
  CHECK(dealt_report.macs_checked == mask_plan.element_count());

  std::string out;
  std::set<std::string> served;
  for (int i = 0; i < 2; ++i) {
    REQUIRE_MESSAGE(d.run_client({"convert", "--model=masked", "--dealers=" + group}, out) == 0,
                    out);
    auto at = out.find("batch_id=");
    REQUIRE(at != std::string::npos);
    served.insert(out.substr(at + 9, 36));
  }
  REQUIRE(served.size() == 2);
  CHECK(served.count(mask_set_id) == 0);

  // The model owner holds one mask set, collected once: B in the clear.
  model_owner::ModelOwnerStore store(d.open(d.model_owner.db_url));
  auto held = store.mask_set("masked", group);
  REQUIRE(held);
  CHECK(held->mask_set_id == mask_set_id);
  CHECK(held->plan_json == mask_plan.canonical());
  REQUIRE(held->elements.size() == 32 * mask_plan.element_count());
  const std::vector<u128> masks = held_masks(*held, mask_plan);
  CHECK(masks == dealt.values);
  CHECK_FALSE(store.mask_set("masked", "dealer-1,dealer-2,dealer-9"));
  {
    auto s = d.open(d.model_owner.db_url)->acquire();
    CHECK(s.exec("SELECT COUNT(*) FROM mask_sets").rows.at(0).get_int(0) == 1);
    for (const auto& batch : served) {
      auto row = s.exec("SELECT element_count FROM inferences WHERE batch_id = ?", {batch});
      REQUIRE(row.rows.size() == 1);
      CHECK(static_cast<std::uint64_t>(row.rows[0].get_int(0)) == plan.element_count());
    }
  }
  // Each batch, the model owner's share and the client's expansion combined: C = A B with the
  // mask set's B, every MAC of the batch checked.
  for (const auto& batch : served) {
    CAPTURE(batch);
    const auto opened = d.open_converted(batch, plan);
    const auto report = material::verify_batch(plan, opened, mask_plan, masks);
    CHECK_MESSAGE(report.ok(), (report.failures.empty() ? "" : report.failures[0]));
    CHECK(report.macs_checked + report.boolean_elements == plan.element_count());
  }
  // The dealers released the mask set's shares once each, to the model owner, and nothing
  // else of it; it is consumed, its material gone.
  for (const auto& id : ids) {
    CAPTURE(id);
    auto s = d.open(d.dealer(id).db_url)->acquire();
    auto releases =
        s.exec("SELECT kind, recipient_identity FROM releases WHERE batch_id = ?", {mask_set_id});
    REQUIRE(releases.rows.size() == 1);
    CHECK(releases.rows[0].get_string(0) == "shares");
    CHECK(releases.rows[0].get_string(1) == "model_owner");
    auto row = s.exec(
        "SELECT state, client_identity, expires_at_unix, shares_seed FROM batches WHERE "
        "batch_id = ?",
        {mask_set_id});
    CHECK(row.rows.at(0).get_string(0) == "consumed");
    CHECK(row.rows.at(0).is_null(1));
    CHECK(row.rows.at(0).is_null(2));
    CHECK(row.rows.at(0).is_null(3));
    CHECK(d.dealer_share(id, mask_set_id).empty());
    for (const auto& batch : served) {
      CHECK(s.exec("SELECT COUNT(*) FROM releases WHERE batch_id = ?", {batch})
                .rows.at(0)
                .get_int(0) == 2);
    }
  }
  // One mask set per (model, group): the pool keeper made no other.
  CHECK(mask_set_rows(d, "masked", group).size() == 1);
}

}  // namespace

TEST_CASE("mask sets on PostgreSQL: one per (model, group), collected once, verified") {
  masks_once_per_group(db::Dialect::postgresql);
}

TEST_CASE("mask sets on MariaDB: one per (model, group), collected once, verified") {
  masks_once_per_group(db::Dialect::mysql);
}

TEST_CASE("mask sets: only the owner gets one, never a client nor /v1/batch_id; bad plans") {
  const auto first_pass = first_pass_plan();
  const auto plan = material::batch_plan_of(first_pass);
  const auto mask_plan = material::mask_plan_of(first_pass);
  // No batches at all (a pool never below its minimum of 0 never refills): only the mask set
  // is generated, and /v1/batch_id has nothing to give.
  test::Deployment d(db::Dialect::postgresql, 3, test::pool_env(0, 1));
  auto mo = d.certs().client("model_owner");
  auto client = d.certs().client("client");
  const std::string models = d.super_dealer.url + "/v1/models";

  // A mask plan with anything but weight masks: 400, and nothing stored.
  json bad_mask = mask_plan.to_json();
  bad_mask.push_back({{"type", "TRIPLE"}, {"count", 1}});
  CHECK(refusal(mo, models,
                {{"model_id", "bad"}, {"plan", plan.to_json()}, {"mask_plan", bad_mask}}) ==
        Errc::invalid_argument);
  CHECK(test::error_code([&] { call(mo, net::http::verb::get, models + "/bad"); }) ==
        Errc::not_found);

  register_masked(d, "masked", plan, mask_plan);
  auto doc = call(mo, net::http::verb::get, models + "/masked");
  CHECK(doc.at("mask_plan") == mask_plan.to_json());
  // Registering again: the same is accepted, another mask plan (or none) is 409.
  call(mo, net::http::verb::post, models,
       {{"model_id", "masked"}, {"plan", plan.to_json()}, {"mask_plan", mask_plan.to_json()}});
  CHECK(refusal(mo, models, {{"model_id", "masked"}, {"plan", plan.to_json()}}) == Errc::conflict);
  CHECK(refusal(mo, models,
                {{"model_id", "masked"},
                 {"plan", plan.to_json()},
                 {"mask_plan", json::array({{{"type", "WEIGHT_MASK_8_3"}, {"count", 1}}})}}) ==
        Errc::conflict);
  call(mo, net::http::verb::post, models, {{"model_id", "plain"}, {"plan", plan.to_json()}});
  CHECK(call(mo, net::http::verb::get, models + "/plain").at("mask_plan").is_null());

  const auto ids = d.dealer_ids();
  const std::string group = group_key(check_dealer_group(ids));
  const std::string mask_set = d.super_dealer.url + "/v1/mask_set";
  d.form_group(ids);
  CHECK(refusal(mo, mask_set, {{"model_id", "masked"}, {"dealers", ids}}) == Errc::unavailable);
  d.add_pool("masked", ids);
  const std::string mask_set_id = d.wait_mask_set("masked", ids, 180s);

  // Nobody but the model's owner gets it; a model without a mask plan has none.
  CHECK(refusal(client, mask_set, {{"model_id", "masked"}, {"dealers", ids}}) ==
        Errc::permission_denied);
  CHECK(refusal(mo, mask_set, {{"model_id", "plain"}, {"dealers", ids}}) == Errc::conflict);
  CHECK(refusal(mo, mask_set, {{"model_id", "masked"}, {"dealers", {"dealer-1", "dealer-2"}}}) ==
        Errc::invalid_argument);
  // /v1/batch_id never binds the mask set, the only available row.
  CHECK(refusal(mo, d.super_dealer.url + "/v1/batch_id",
                {{"model_id", "masked"}, {"dealers", ids}, {"client_identity", "client"}}) ==
        Errc::unavailable);

  // The owner's binding, and the same again (a retry after a broken collection).
  auto bound =
      call(mo, net::http::verb::post, mask_set, {{"model_id", "masked"}, {"dealers", ids}});
  CHECK(bound.at("mask_set_id") == mask_set_id);
  CHECK(bound.at("element_count") == mask_plan.element_count());
  CHECK(bound.at("plan") == mask_plan.to_json());
  CHECK(bound.at("dealers").size() == 3);
  auto again =
      call(mo, net::http::verb::post, mask_set, {{"model_id", "masked"}, {"dealers", ids}});
  CHECK(again.at("mask_set_id") == mask_set_id);
  auto row = call(mo, net::http::verb::get, d.super_dealer.url + "/v1/batches/" + mask_set_id);
  CHECK(row.at("state") == "bound");
  CHECK(row.at("model_owner_identity") == "model_owner");
  CHECK(row.at("client_identity").is_null());

  // Its seeds go to nobody: not the client, not the model owner.
  const std::string seed = d.dealer("dealer-1").url + "/v1/seed";
  CHECK(refusal(client, seed, {{"batch_id", mask_set_id}}) == Errc::permission_denied);
  CHECK(refusal(mo, seed, {{"batch_id", mask_set_id}}) == Errc::permission_denied);
  // A dealer binds a mask set as one, with no client: the super dealer's other bindings are
  // refused.
  auto sd = d.certs().client("super_dealer");
  const std::string bind = d.dealer("dealer-1").url + "/v1/bind";
  CHECK(refusal(sd, bind,
                {{"batch_id", mask_set_id},
                 {"model_owner_identity", "model_owner"},
                 {"client_identity", "client"}}) == Errc::conflict);
  CHECK(refusal(sd, bind,
                {{"batch_id", mask_set_id},
                 {"model_owner_identity", "model_owner"},
                 {"client_identity", "client"},
                 {"kind", "mask_set"}}) == Errc::invalid_argument);
  CHECK(refusal(
            sd, bind,
            {{"batch_id", mask_set_id}, {"model_owner_identity", "model_owner"}, {"kind", "x"}}) ==
        Errc::invalid_argument);
  for (const auto& id : ids) {
    auto s = d.open(d.dealer(id).db_url)->acquire();
    CHECK(s.exec("SELECT COUNT(*) FROM releases").rows.at(0).get_int(0) == 0);
  }
  CHECK(mask_set_rows(d, "masked", group).size() == 1);
}
