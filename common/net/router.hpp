#pragma once
// Maps (method, path) to a handler. Paths may hold {name} segments, e.g. "/v1/seed/{batch_id}".
// Handlers run on the worker pool, never on an I/O thread, so they may block on the database.
// A handler that throws ppi::Error produces the matching problem+json response.
// Every request is counted and timed by route pattern (ppi_http_requests_total,
// ppi_http_request_duration_seconds; errors in ppi_errors_total), logged once at info
// (event=http_request: method, route, status, latency_ms, caller, request_id, batch_id when
// the path names one), and answered with its X-Request-Id: the caller's, when it is a sane
// token (1 to 128 of A-Z a-z 0-9 . _ : -), else one made here.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http.hpp"

namespace ppi::net {

using Handler = std::function<Response(const Request&, RequestContext&)>;
// The roles (net/tls.hpp role::) whose certificates may call a route.
using Roles = std::vector<std::string_view>;

// The 415 answer to a request whose body is not application/json (every body is JSON), or
// nullopt when the body is JSON or empty. The router applies it before every handler; the
// client gateway to the completions it serves itself.
std::optional<Response> unsupported_media_type(const Request& request);

class Router {
 public:
  // A route for the roles given, checked before the handler runs: a caller without a
  // certificate gets 401, one of another role 403 naming the roles required and the role held.
  void add(http::verb method, std::string pattern, Roles roles, Handler handler);
  // A route for any caller the server's TLS lets in (health, documentation).
  void add(http::verb method, std::string pattern, Handler handler);
  // Never throws: unknown paths give 404, wrong methods 405, handler errors problem+json.
  Response handle(const Request& request, RequestContext& context) const;

  // The request id the answer to `request` carries (see above).
  static std::string request_id_of(const Request& request);

  // What is served, in the order added: the route table the OpenAPI contract test checks.
  struct RouteInfo {
    http::verb method;
    std::string pattern;
    Roles roles;  // empty: any caller
  };
  std::vector<RouteInfo> routes() const;

 private:
  struct Outcome;
  Response dispatch(const Request& request, RequestContext& context, Outcome& outcome) const;

  struct Route {
    http::verb method;
    std::string pattern;  // as added: the `route` label and log field
    std::vector<std::string> segments;
    Roles roles;  // empty: any caller
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace ppi::net
