#include "net/router.hpp"

#include <nlohmann/json.hpp>
#include <optional>

#include "obs/log.hpp"

namespace ppi::net {
namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(start, end - start));
    start = end;
  }
  return out;
}

bool match(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
           std::map<std::string, std::string>& params) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const std::string& p = pattern[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      params[p.substr(1, p.size() - 2)] = path[i];
    } else if (p != path[i]) {
      return false;
    }
  }
  return true;
}

// Why this caller may not use the route, or nullopt when it may.
std::optional<Error> refusal(const Roles& roles, const RequestContext& context,
                             const Request& request) {
  if (roles.empty()) return std::nullopt;
  if (context.peer_identity.empty()) {
    return Error(Errc::unauthenticated, "this call needs an mTLS client certificate");
  }
  for (const auto& role : roles) {
    if (context.peer_role == role) return std::nullopt;
  }
  std::string wanted;
  for (const auto& role : roles) wanted += (wanted.empty() ? "" : " or ") + std::string(role);
  std::string target(request.target());
  return Error(
      Errc::permission_denied,
      std::string(request.method_string()) + " " + target.substr(0, target.find('?')) +
          " needs the role " + wanted + "; '" + context.peer_identity + "' holds " +
          (context.peer_role.empty() ? std::string("no role") : "the role " + context.peer_role));
}

}  // namespace

void Router::add(http::verb method, std::string pattern, Roles roles, Handler handler) {
  routes_.push_back(Route{method, split_path(pattern), std::move(roles), std::move(handler)});
}

void Router::add(http::verb method, std::string pattern, Handler handler) {
  add(method, std::move(pattern), {}, std::move(handler));
}

Response Router::handle(const Request& request, RequestContext& context) const {
  std::string_view target = request.target();
  auto path = split_path(target.substr(0, target.find('?')));
  bool path_known = false;
  for (const auto& route : routes_) {
    std::map<std::string, std::string> params;
    if (!match(route.segments, path, params)) continue;
    path_known = true;
    if (route.method != request.method()) continue;
    context.path_params = std::move(params);
    if (auto refused = refusal(route.roles, context, request)) {
      log::warn("request_refused", {{"target", std::string(target)},
                                    {"peer", context.peer_identity},
                                    {"role", context.peer_role},
                                    {"detail", refused->what()}});
      return problem_response(*refused, request.version());
    }
    try {
      Response res = route.handler(request, context);
      res.version(request.version());
      res.keep_alive(request.keep_alive());
      return res;
    } catch (const Error& e) {
      if (status_for(e.code()) == http::status::internal_server_error || e.detail_withheld()) {
        log::error("request_failed", {{"target", std::string(target)},
                                      {"code", std::string(errc_name(e.code()))},
                                      {"detail", e.what()}});
      }
      return problem_response(e, request.version());
    } catch (const nlohmann::json::exception& e) {
      // A handler reading a request body that does not have the shape it expects (a missing
      // member, a wrong type): the caller's mistake, answered in one place with 400.
      return problem_response(
          Error(Errc::invalid_argument, std::string("the request body does not fit: ") + e.what()),
          request.version());
    } catch (const std::exception& e) {
      log::error("request_failed", {{"target", std::string(target)}, {"detail", e.what()}});
      return problem_response(Error(Errc::internal, e.what()), request.version());
    }
  }
  if (path_known) {
    return problem_response(http::status::method_not_allowed, "Method Not Allowed",
                            "this path does not accept " + std::string(request.method_string()),
                            "invalid_argument", request.version());
  }
  return problem_response(http::status::not_found, "Not Found", "no such resource", "not_found",
                          request.version());
}

}  // namespace ppi::net
