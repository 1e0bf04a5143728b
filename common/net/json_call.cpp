#include "net/json_call.hpp"

namespace ppi::net {

Errc errc_for_status(unsigned status) noexcept {
  switch (status) {
    case 400:
      return Errc::invalid_argument;
    case 401:
      return Errc::unauthenticated;
    case 403:
      return Errc::permission_denied;
    case 404:
      return Errc::not_found;
    case 409:
      return Errc::conflict;
    case 410:
      return Errc::gone;
    case 413:
      return Errc::too_large;
    case 502:
    case 503:
    case 504:
      return Errc::unavailable;
    default:
      return Errc::internal;
  }
}

nlohmann::json call_json(const ClientOptions& options, http::verb method, const std::string& url,
                         const nlohmann::json& body) {
  Response res = fetch(options, method, url, body.is_null() ? std::string() : body.dump());
  auto doc = nlohmann::json::parse(res.body(), nullptr, false);
  unsigned status = res.result_int();
  if (status >= 200 && status < 300) {
    if (doc.is_discarded()) {
      throw Error(Errc::unavailable, url + " answered with a body that is not JSON");
    }
    return doc;
  }
  std::string detail = doc.is_object() && doc.contains("detail") && doc["detail"].is_string()
                           ? doc["detail"].get<std::string>()
                           : "HTTP " + std::to_string(status);
  throw Error(errc_for_status(status), detail);
}

}  // namespace ppi::net
