// What the router answers besides its routes (issue 14 item 6): HEAD as GET without a body,
// OPTIONS and 405 with Allow, 415 for a body that is not JSON, and no aliases of a path.
#include <doctest/doctest.h>

#include "net/router.hpp"

using namespace ppi;
using net::http::status;
using net::http::verb;

namespace {

net::Router make_router() {
  net::Router router;
  router.add(verb::get, "/v1/items/{id}", [](const net::Request&, net::RequestContext& ctx) {
    return net::json_response(status::ok, "{\"id\":\"" + ctx.path_params.at("id") + "\"}");
  });
  router.add(verb::post, "/v1/items", [](const net::Request& req, net::RequestContext&) {
    return net::json_response(status::ok, req.body());
  });
  return router;
}

net::Response call(const net::Router& router, verb method, const std::string& target,
                   const std::string& body = {}, const std::string& type = {}) {
  net::Request req(method, target, 11);
  if (!type.empty()) req.set(net::http::field::content_type, type);
  req.body() = body;
  req.prepare_payload();
  net::RequestContext ctx;
  return router.handle(req, ctx);
}

}  // namespace

TEST_CASE("router: HEAD is GET without the body, Content-Length kept") {
  const auto router = make_router();
  const auto get = call(router, verb::get, "/v1/items/7");
  const auto head = call(router, verb::head, "/v1/items/7");
  CHECK(head.result() == status::ok);
  CHECK(head.body().empty());
  CHECK(head[net::http::field::content_length] == std::to_string(get.body().size()));
}

TEST_CASE("router: OPTIONS and 405 name the methods a path accepts") {
  const auto router = make_router();
  const auto options = call(router, verb::options, "/v1/items/7");
  CHECK(options.result() == status::no_content);
  CHECK(options[net::http::field::allow] == "GET, HEAD, OPTIONS");
  const auto wrong = call(router, verb::delete_, "/v1/items");
  CHECK(wrong.result() == status::method_not_allowed);
  CHECK(wrong[net::http::field::allow] == "POST, OPTIONS");
  CHECK(call(router, verb::options, "/v1/nothing").result() == status::not_found);
}

TEST_CASE("router: a body that is not JSON is 415; JSON with a charset or no body is accepted") {
  const auto router = make_router();
  CHECK(call(router, verb::post, "/v1/items", "{}", "text/plain").result() ==
        status::unsupported_media_type);
  CHECK(call(router, verb::post, "/v1/items", "{}", "").result() == status::unsupported_media_type);
  CHECK(call(router, verb::post, "/v1/items", "{}", "application/json; charset=utf-8").result() ==
        status::ok);
  CHECK(call(router, verb::post, "/v1/items", "{}", "Application/JSON").result() == status::ok);
  CHECK(call(router, verb::post, "/v1/items").result() == status::ok);
}

TEST_CASE("router: trailing and doubled slashes are not aliases; a GET is redirected") {
  const auto router = make_router();
  CHECK(call(router, verb::get, "/v1/items/7").result() == status::ok);
  CHECK(call(router, verb::get, "/v1/items/7?x=1").result() == status::ok);
  for (const std::string alias : {"/v1/items/7/", "/v1//items/7", "//v1/items/7"}) {
    CAPTURE(alias);
    const auto res = call(router, verb::get, alias + "?x=1");
    CHECK(res.result() == status::permanent_redirect);
    CHECK(res[net::http::field::location] == "/v1/items/7?x=1");
    CHECK(res.body().empty());
  }
  CHECK(call(router, verb::post, "/v1/items/", "{}", "application/json").result() ==
        status::not_found);
  CHECK(call(router, verb::get, "/v1/other/").result() == status::not_found);
}
