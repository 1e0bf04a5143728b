#include "client/conversion.hpp"

#include <future>

#include "core/ids.hpp"
#include "dealer/api.hpp"
#include "model_owner/api.hpp"
#include "net/json_call.hpp"
#include "obs/log.hpp"

namespace ppi::client {

namespace {

DealerSeed fetch_seed(const net::ClientOptions& rest, const std::string& batch_id,
                      const std::string& dealer_id, const std::string& rest_url) {
  nlohmann::json answer;
  try {
    // Pinned to the dealer the model owner named: a seed from any other server is refused.
    answer = net::call_json(rest.to(dealer_id), net::http::verb::post,
                            rest_url + std::string(dealer::api::kSeedPath),
                            dealer::api::BatchRef{batch_id});
  } catch (const Error& e) {
    throw Error(e.code(), "dealer " + dealer_id + ": " + e.what());
  }
  dealer::api::Seeds seeds;
  try {
    seeds = answer.get<dealer::api::Seeds>();
  } catch (const Error& e) {
    throw Error(Errc::unavailable,
                "dealer " + dealer_id + " answered a malformed seed: " + std::string(e.what()));
  }
  if (seeds.batch_id != batch_id) {
    throw Error(Errc::unavailable, "dealer " + dealer_id + " answered a seed of another batch");
  }
  DealerSeed d;
  d.dealer_id = dealer_id;
  d.shares_seed = Seed128::from_u128(seeds.shares_seed);
  d.mac_key_mask = seeds.mac_key_mask;
  return d;
}

}  // namespace

Conversion convert(ClientStore& store, const net::ClientOptions& rest,
                   const std::string& model_owner_url, const std::string& model_id,
                   const std::vector<std::string>& dealers) {
  check_name_id(model_id, "model id");
  check_dealer_group(dealers);
  const auto answer = net::call_json(
      rest, net::http::verb::post, model_owner_url + std::string(model_owner::api::kInferencePath),
      model_owner::api::InferenceRequest{model_id, dealers});
  model_owner::api::InferenceGrant grant;
  try {
    grant = answer.get<model_owner::api::InferenceGrant>();
  } catch (const Error& e) {
    throw Error(Errc::unavailable,
                "the model owner answered a malformed grant: " + std::string(e.what()));
  }
  Conversion c;
  c.batch_id = grant.batch_id;
  check_batch_id(c.batch_id);
  c.model_id = model_id;
  c.model_owner_url = model_owner_url;
  c.element_count = grant.element_count;

  std::vector<std::future<DealerSeed>> calls;
  for (const auto& d : grant.dealers) {
    calls.push_back(std::async(std::launch::async, fetch_seed, std::cref(rest), c.batch_id,
                               d.dealer_id, d.rest_url));
  }
  std::exception_ptr failure;
  for (auto& call : calls) {
    try {
      c.seeds.push_back(call.get());
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) {
    store.save_failed(c.batch_id, model_id, model_owner_url);
    std::rethrow_exception(failure);
  }
  if (c.seeds.size() != dealers.size()) {
    throw Error(Errc::internal, "the model owner returned another dealer group");
  }
  store.save(c);
  log::info("seeds_stored",
            {{"batch_id", c.batch_id}, {"dealers", std::to_string(c.seeds.size())}});
  return c;
}

}  // namespace ppi::client
