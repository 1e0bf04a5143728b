#include "ledger/events_route.hpp"

#include "core/ids.hpp"
#include "ledger/ledger.hpp"
#include "net/tls.hpp"

namespace ppi::ledger {
namespace {

constexpr std::int64_t kMaxPage = 10000;

std::int64_t parse_count(const std::string& name, const std::string& text, std::int64_t min,
                         std::int64_t max) {
  std::size_t used = 0;
  std::int64_t v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || v < min || v > max) {
    throw Error(Errc::invalid_argument, name + " must be an integer from " + std::to_string(min) +
                                            " to " + std::to_string(max));
  }
  return v;
}

Query parse_query(std::string_view target) {
  Query q;
  q.limit = kMaxPage;
  for (const auto& [name, value] : net::query_params(target)) {
    if (name == "batch_id") {
      check_batch_id(value);
      q.batch_id = value;
    } else if (name == "since") {
      q.since_ms = parse_rfc3339_ms(value);
    } else if (name == "after_id") {
      q.after_id = parse_count(name, value, 0, INT64_MAX);
    } else if (name == "limit") {
      q.limit = parse_count(name, value, 1, kMaxPage);
    } else {
      throw Error(Errc::invalid_argument,
                  "unknown query parameter '" + name + "' (batch_id, since, after_id, limit)");
    }
  }
  return q;
}

}  // namespace

void add_events_route(net::Router& router, std::shared_ptr<db::Database> db,
                      std::string super_dealer_identity) {
  router.add(
      net::http::verb::get, "/v1/audit/events", {net::role::kSuperDealer, net::role::kOperator},
      [db, sd = std::move(super_dealer_identity)](const net::Request& req,
                                                  net::RequestContext& ctx) {
        if (ctx.peer_role == net::role::kSuperDealer && ctx.peer_identity != sd) {
          throw Error(Errc::permission_denied, "audit events are served to the super dealer '" +
                                                   sd + "' and to operators, not to '" +
                                                   ctx.peer_identity + "'");
        }
        const Query q = parse_query(req.target());
        auto s = db->acquire();
        nlohmann::json events = nlohmann::json::array();
        const auto records = read(s, q);
        for (const auto& r : records) events.push_back(to_json(r));
        nlohmann::json doc = {{"actor", actor_identity()},
                              {"events", std::move(events)},
                              {"complete", static_cast<std::int64_t>(records.size()) < q.limit}};
        return net::json_response(net::http::status::ok, doc.dump());
      });
}

}  // namespace ppi::ledger
