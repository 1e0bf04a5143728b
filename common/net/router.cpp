#include "net/router.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "obs/catalog.hpp"
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

// One spelling per resource: "/v1/x/" and "/v1//x" are not aliases of "/v1/x" (issue 14
// item 6), so that what the OpenAPI documents list is exactly what is served.
bool canonical(std::string_view path) {
  if (path == "/") return true;
  return path.starts_with('/') && !path.ends_with('/') && path.find("//") == std::string_view::npos;
}

std::string allow_header(const std::vector<http::verb>& methods) {
  std::string allow;
  for (auto m : methods) allow += (allow.empty() ? "" : ", ") + std::string(http::to_string(m));
  return allow;
}

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
}

// A label value from a bounded set: a method Beast does not know is "other", not its text.
std::string method_label(const Request& request) {
  if (request.method() == http::verb::unknown) return "other";
  return std::string(request.method_string());
}

constexpr std::string_view kUnmatched = "unmatched";

}  // namespace

// A body is JSON or nothing: text/plain or a form is refused before any handler reads it.
std::optional<Response> unsupported_media_type(const Request& request) {
  if (request.body().empty()) return std::nullopt;
  const auto type = request[http::field::content_type];
  const auto essence = type.substr(0, type.find(';'));
  if (boost::beast::iequals(essence, "application/json")) return std::nullopt;
  return problem_response(
      http::status::unsupported_media_type, "Unsupported Media Type",
      "the request body must be application/json, not '" + std::string(type) + "'",
      "invalid_argument", request.version());
}

// What the access log and the metrics need to know of how a request was answered.
struct Router::Outcome {
  std::string request_id;
  std::string route{kUnmatched};
  std::string error;  // the Errc name of a problem answer, "" otherwise
};

void Router::add(http::verb method, std::string pattern, Roles roles, Handler handler) {
  auto segments = split_path(pattern);
  routes_.push_back(
      Route{method, std::move(pattern), std::move(segments), std::move(roles), std::move(handler)});
}

std::string Router::request_id_of(const Request& request) {
  const auto given = request["X-Request-Id"];
  if (sane_request_id(given)) return std::string(given);
  // Not a secret, only unique enough to find one request's lines across actors.
  thread_local std::mt19937_64 random(std::random_device{}());
  char id[17];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(random()));
  return id;
}

std::vector<Router::RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  for (const auto& route : routes_) out.push_back({route.method, route.pattern, route.roles});
  return out;
}

void Router::add(http::verb method, std::string pattern, Handler handler) {
  add(method, std::move(pattern), {}, std::move(handler));
}

Response Router::handle(const Request& request, RequestContext& context) const {
  const auto started = std::chrono::steady_clock::now();
  Outcome outcome;
  outcome.request_id = request_id_of(request);
  Response res = dispatch(request, context, outcome);
  res.set("X-Request-Id", outcome.request_id);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
  const std::string method = method_label(request);
  const std::string status = std::to_string(res.result_int());
  obs::catalog::http_requests().with({outcome.route, method, status}).inc();
  obs::catalog::http_request_duration().with({outcome.route}).observe(elapsed.count());
  if (!outcome.error.empty()) obs::catalog::count_error(outcome.error);
  char latency[32];
  std::snprintf(latency, sizeof latency, "%.3f", elapsed.count() * 1000);
  std::vector<log::Field> fields = {{"method", method},
                                    {"route", outcome.route},
                                    {"status", status},
                                    {"latency_ms", latency},
                                    {"caller", context.peer_identity},
                                    {"request_id", outcome.request_id}};
  if (auto batch = context.path_params.find("batch_id"); batch != context.path_params.end()) {
    fields.emplace_back("batch_id", batch->second);
  }
  log::write_fields(log::Level::info, "http_request", fields);
  return res;
}

Response Router::dispatch(const Request& request, RequestContext& context, Outcome& outcome) const {
  if (request.method() == http::verb::head) {
    // GET without the body: health probes use HEAD. Content-Length stays that of the body.
    Request get = request;
    get.method(http::verb::get);
    Response res = dispatch(get, context, outcome);
    const auto length = res.body().size();
    res.body().clear();
    res.content_length(length);
    return res;
  }
  std::string_view target = request.target();
  const auto path_text = target.substr(0, target.find('?'));
  auto path = split_path(path_text);
  if (!canonical(path_text)) {
    // A browser's "/docs/" is sent to the one spelling; nothing else is served under an alias.
    std::string spelled;
    for (const auto& segment : path) spelled += "/" + segment;
    if (spelled.empty()) spelled = "/";
    const bool known = std::any_of(routes_.begin(), routes_.end(), [&](const Route& route) {
      std::map<std::string, std::string> ignored;
      return route.method == http::verb::get && match(route.segments, path, ignored);
    });
    if (known && request.method() == http::verb::get) {
      Response res(http::status::permanent_redirect, request.version());
      res.set(http::field::location, spelled + std::string(target.substr(path_text.size())));
      res.keep_alive(request.keep_alive());
      return res;
    }
    outcome.error = "not_found";
    return problem_response(http::status::not_found, "Not Found",
                            "no such resource (paths have no trailing or doubled slash)",
                            "not_found", request.version());
  }
  // The lines a failed request adds to its access-log line carry its request id and batch.
  const auto log_failure = [&](log::Level level, std::string_view event,
                               std::vector<log::Field> fields) {
    fields.emplace_back("request_id", outcome.request_id);
    if (auto batch = context.path_params.find("batch_id"); batch != context.path_params.end()) {
      fields.emplace_back("batch_id", batch->second);
    }
    log::write_fields(level, event, fields);
  };
  std::vector<http::verb> allowed;
  for (const auto& route : routes_) {
    std::map<std::string, std::string> params;
    if (!match(route.segments, path, params)) continue;
    if (allowed.empty()) outcome.route = route.pattern;
    allowed.push_back(route.method);
    if (route.method == http::verb::get) allowed.push_back(http::verb::head);
    if (route.method != request.method()) continue;
    outcome.route = route.pattern;
    if (auto refused = unsupported_media_type(request)) {
      outcome.error = "invalid_argument";
      return std::move(*refused);
    }
    context.path_params = std::move(params);
    if (auto refused = refusal(route.roles, context, request)) {
      outcome.error = errc_name(refused->code());
      log_failure(log::Level::warn, "request_refused",
                  {{"target", std::string(target)},
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
      outcome.error = errc_name(e.code());
      if (status_for(e.code()) == http::status::internal_server_error || e.detail_withheld()) {
        log_failure(log::Level::error, "request_failed",
                    {{"target", std::string(target)},
                     {"code", std::string(errc_name(e.code()))},
                     {"detail", e.what()}});
      }
      return problem_response(e, request.version());
    } catch (const nlohmann::json::exception& e) {
      // A handler reading a request body that does not have the shape it expects (a missing
      // member, a wrong type): the caller's mistake, answered in one place with 400.
      outcome.error = "invalid_argument";
      return problem_response(
          Error(Errc::invalid_argument, std::string("the request body does not fit: ") + e.what()),
          request.version());
    } catch (const std::exception& e) {
      outcome.error = "internal";
      log_failure(log::Level::error, "request_failed",
                  {{"target", std::string(target)}, {"detail", e.what()}});
      return problem_response(Error(Errc::internal, e.what()), request.version());
    }
  }
  if (!allowed.empty()) {
    allowed.push_back(http::verb::options);
    if (request.method() == http::verb::options) {
      Response res(http::status::no_content, request.version());
      res.set(http::field::allow, allow_header(allowed));
      res.keep_alive(request.keep_alive());
      return res;
    }
    outcome.error = "invalid_argument";
    Response res =
        problem_response(http::status::method_not_allowed, "Method Not Allowed",
                         "this path does not accept " + std::string(request.method_string()) +
                             " (it accepts " + allow_header(allowed) + ")",
                         "invalid_argument", request.version());
    res.set(http::field::allow, allow_header(allowed));
    return res;
  }
  outcome.error = "not_found";
  return problem_response(http::status::not_found, "Not Found", "no such resource", "not_found",
                          request.version());
}

}  // namespace ppi::net
