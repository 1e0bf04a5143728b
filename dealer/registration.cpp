#include "dealer/registration.hpp"

#include <thread>

#include "app/actor.hpp"
#include "net/json_call.hpp"
#include "obs/log.hpp"
#include "super_dealer/api.hpp"

namespace ppi::dealer {

void register_dealer(const config::Config& cfg, const std::string& dealer_id,
                     const std::string& rest_url, const std::string& grpc_endpoint) {
  net::ClientOptions options;
  options.tls = app::tls_options(cfg);
  options.timeout = std::chrono::seconds(10);
  options.server_identity = cfg.get_string("super_dealer.identity");
  const nlohmann::json body = super_dealer::api::Dealer{dealer_id, rest_url, grpc_endpoint};
  const std::string url =
      cfg.get_string("super_dealer.url") + std::string(super_dealer::api::kDealersPath);
  for (int attempt = 1;; ++attempt) {
    try {
      net::call_json(options, net::http::verb::post, url, body);
      log::info("registered",
                {{"super_dealer", url}, {"rest_url", rest_url}, {"grpc_endpoint", grpc_endpoint}});
      return;
    } catch (const Error& e) {
      // Only an unreachable super dealer is worth waiting for; a refusal is final.
      if (e.code() != Errc::unavailable || attempt == 30) {
        throw Error(e.code(), "registering with the super dealer failed: " + std::string(e.what()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
}

}  // namespace ppi::dealer
