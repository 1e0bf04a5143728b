#pragma once
// HTTP message types and the REST conventions of the project: JSON bodies, and errors as
// application/problem+json (RFC 9457) with the status that matches the Error's code.

#include <boost/beast/http.hpp>
#include <map>
#include <string>

#include "core/error.hpp"

namespace ppi::net {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// What the server knows about the caller of one request.
struct RequestContext {
  std::string peer_identity;   // certificate subject CN under mTLS, "" otherwise
  std::string peer_role;       // certificate subject OU under mTLS (net/tls.hpp role::)
  std::string remote_address;  // ip:port
  std::map<std::string, std::string> path_params;  // from {name} segments of the route
};

http::status status_for(Errc code) noexcept;
Response json_response(http::status status, std::string body, unsigned version = 11);
Response problem_response(http::status status, std::string_view title, std::string_view detail,
                          std::string_view code, unsigned version = 11);
Response problem_response(const Error& error, unsigned version = 11);

// The query string of a request target ("/p?a=1&b=x%20y") as name -> value, percent- and
// '+'-decoded. Error(invalid_argument) for a malformed escape or a name given twice.
std::map<std::string, std::string> query_params(std::string_view target);

}  // namespace ppi::net
