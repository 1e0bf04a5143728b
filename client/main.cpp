// The client: asks for private inferences and runs the online phase with the model owner.
// Commands:
//   client status URL...   health of the given actors (GET URL/healthz), one line each
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/actor.hpp"
#include "obs/log.hpp"

namespace {

const char* kSummary =
    "Client: requests private inferences.\n\n"
    "Commands:\n"
    "  status URL...   query GET URL/healthz of each actor and print its health";

// Prints one line per actor; returns the number of actors that are not healthy.
int print_status(const ppi::config::Config& cfg, const std::vector<std::string>& urls) {
  ppi::net::ClientOptions options;
  options.tls = ppi::app::tls_options(cfg);
  options.timeout = std::chrono::seconds(10);
  int unhealthy = 0;
  for (const auto& url : urls) {
    std::string base = url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    try {
      auto res = ppi::net::fetch(options, ppi::net::http::verb::get, base + "/healthz");
      auto doc = nlohmann::json::parse(res.body(), nullptr, false);
      if (doc.is_discarded() || !doc.contains("actor")) {
        throw ppi::Error(ppi::Errc::unavailable,
                         "not a health document (HTTP " + std::to_string(res.result_int()) + ")");
      }
      std::cout << "actor=" << doc.value("actor", "?") << " url=" << base
                << " status=" << doc.value("status", "?")
                << " database=" << doc["database"].value("dialect", "?") << "/"
                << doc["database"].value("status", "?") << "\n";
      if (res.result() != ppi::net::http::status::ok) ++unhealthy;
    } catch (const ppi::Error& e) {
      std::cout << "actor=? url=" << base << " status=unreachable detail=\"" << e.what() << "\"\n";
      ++unhealthy;
    }
  }
  return unhealthy;
}

}  // namespace

int main(int argc, char** argv) {
  return ppi::app::run_main("client", [&] {
    auto cfg = ppi::config::Config::load("client", kSummary, ppi::app::common_keys(), argc, argv);
    if (cfg.help_requested()) {
      std::cout << cfg.help_text();
      return 0;
    }
    ppi::log::set_actor("client");
    const auto& args = cfg.positional();
    if (args.empty()) throw ppi::Error(ppi::Errc::config, "no command given (see --help)");
    auto database = ppi::app::open_database(cfg, "client");
    if (args[0] == "status") {
      if (args.size() < 2) throw ppi::Error(ppi::Errc::config, "status needs at least one URL");
      return print_status(cfg, {args.begin() + 1, args.end()}) == 0 ? 0 : 1;
    }
    throw ppi::Error(ppi::Errc::config, "unknown command '" + args[0] + "' (see --help)");
  });
}
