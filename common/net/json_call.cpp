#include "net/json_call.hpp"

#include <algorithm>
#include <charconv>

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
  Error error(errc_for_status(status), detail);
  // Retry-After in seconds (the HTTP-date form is not used by any actor).
  const auto retry = res[http::field::retry_after];
  int seconds = 0;
  if (std::from_chars(retry.data(), retry.data() + retry.size(), seconds).ec == std::errc() &&
      seconds > 0) {
    throw std::move(error).retry_after(std::min(seconds, 3600));
  }
  throw error;
}

}  // namespace ppi::net
