#pragma once
// Maps (method, path) to a handler. Paths may hold {name} segments, e.g. "/v1/seed/{batch_id}".
// Handlers run on the worker pool, never on an I/O thread, so they may block on the database.
// A handler that throws ppi::Error produces the matching problem+json response.

#include <functional>
#include <string>
#include <vector>

#include "net/http.hpp"

namespace ppi::net {

using Handler = std::function<Response(const Request&, RequestContext&)>;

class Router {
 public:
  void add(http::verb method, std::string pattern, Handler handler);
  // Never throws: unknown paths give 404, wrong methods 405, handler errors problem+json.
  Response handle(const Request& request, RequestContext& context) const;

 private:
  struct Route {
    http::verb method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace ppi::net
