// What a failing actor tells its peers (issue 15 item 5): the kind of failure and who had it,
// never its infrastructure. An error whose detail is withheld (a database error names hosts,
// ports and statements) is answered with its served message; the detail stays in the log.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "net/router.hpp"

using namespace ppi;
using net::http::status;
using net::http::verb;

TEST_CASE("problem details: a withheld detail is not served, the served message is") {
  net::Router router;
  router.add(verb::get, "/lost", [](const net::Request&, net::RequestContext&) -> net::Response {
    throw Error(Errc::unavailable, "postgresql: lost connection to 10.1.2.3:5432/dealer_2",
                "database unavailable; try again later");
  });
  router.add(verb::get, "/plain", [](const net::Request&, net::RequestContext&) -> net::Response {
    throw Error(Errc::gone, "batch 7 expired");
  });
  net::RequestContext context;
  net::Request lost(verb::get, "/lost", 11);
  const auto res = router.handle(lost, context);
  CHECK(res.result() == status::service_unavailable);
  const auto doc = nlohmann::json::parse(res.body());
  CHECK(doc.at("detail") == "database unavailable; try again later");
  CHECK(doc.at("code") == "unavailable");
  CHECK(res.body().find("10.1.2.3") == std::string::npos);

  net::Request plain(verb::get, "/plain", 11);
  const auto gone = router.handle(plain, context);
  CHECK(gone.result() == status::gone);
  CHECK(nlohmann::json::parse(gone.body()).at("detail") == "batch 7 expired");
}
