#include "net/http.hpp"

#include <nlohmann/json.hpp>

namespace ppi::net {

http::status status_for(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_argument:
      return http::status::bad_request;
    case Errc::not_found:
      return http::status::not_found;
    case Errc::conflict:
      return http::status::conflict;
    case Errc::gone:
      return http::status::gone;
    case Errc::permission_denied:
      return http::status::forbidden;
    case Errc::unauthenticated:
      return http::status::unauthorized;
    case Errc::too_large:
      return http::status::payload_too_large;
    case Errc::unavailable:
      return http::status::service_unavailable;
    case Errc::config:
    case Errc::database:
    case Errc::crypto:
    case Errc::internal:
      return http::status::internal_server_error;
  }
  return http::status::internal_server_error;
}

Response json_response(http::status status, std::string body, unsigned version) {
  Response res{status, version};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response problem_response(http::status status, std::string_view title, std::string_view detail,
                          std::string_view code, unsigned version) {
  nlohmann::json doc = {{"type", "about:blank"},
                        {"title", title},
                        {"status", static_cast<int>(status)},
                        {"detail", detail},
                        {"code", code}};
  Response res = json_response(status, doc.dump(), version);
  res.set(http::field::content_type, "application/problem+json");
  return res;
}

Response problem_response(const Error& error, unsigned version) {
  http::status status = status_for(error.code());
  // Internal failures are logged by the caller with their detail; the peer gets no internals.
  bool internal = status == http::status::internal_server_error;
  Response res = problem_response(status, http::obsolete_reason(status),
                                  internal ? "internal error; see the server log" : error.served(),
                                  errc_name(error.code()), version);
  if (error.retry_after_seconds() > 0) {
    res.set(http::field::retry_after, std::to_string(error.retry_after_seconds()));
  }
  return res;
}

}  // namespace ppi::net

namespace ppi::net {
namespace {

std::string percent_decode(std::string_view in) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size() || hex(in[i + 1]) < 0 || hex(in[i + 2]) < 0) {
        throw Error(Errc::invalid_argument, "malformed percent escape in the query string");
      }
      out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> query_params(std::string_view target) {
  std::map<std::string, std::string> out;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string name = percent_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    if (!out.emplace(name, std::move(value)).second) {
      throw Error(Errc::invalid_argument, "query parameter '" + name + "' given twice");
    }
  }
  return out;
}

}  // namespace ppi::net
