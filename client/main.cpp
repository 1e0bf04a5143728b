// The client: asks for private inferences and runs the online phase with the model owner.
// Commands:
//   client status URL...                               health of the given actors, one line each
//   client convert --model M --dealers d1,d2,...       a batch for M: the model owner's share
//                                                      collected, this client's seeds stored
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/actor.hpp"
#include "client/conversion.hpp"
#include "obs/log.hpp"

namespace {

const char* kSummary =
    "Client: requests private inferences.\n\n"
    "Commands:\n"
    "  status URL...   query GET URL/healthz of each actor and print its health\n"
    "  convert         get a batch of material for --model from --dealers through the model "
    "owner\n"
    "                  (model_owner.url) and store this client's seeds";

std::vector<ppi::config::KeySpec> client_keys() {
  auto keys = ppi::app::common_keys();
  keys.push_back(ppi::config::string_key("model_owner.url", "", "REST URL of the model owner"));
  keys.push_back(ppi::config::string_key("model", "", "model id (convert)"));
  keys.push_back(ppi::config::string_key("dealers", "", "comma-separated dealer ids, 2 to 10"));
  return keys;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

int run_convert(const ppi::config::Config& cfg, std::shared_ptr<ppi::db::Database> database) {
  if (cfg.get_string("model_owner.url").empty()) {
    throw ppi::Error(ppi::Errc::config, "convert needs model_owner.url");
  }
  ppi::net::ClientOptions rest;
  rest.tls = ppi::app::tls_options(cfg);
  rest.timeout = std::chrono::seconds(600);  // the model owner answers once its share is in
  ppi::client::ClientStore store(std::move(database));
  auto started = std::chrono::steady_clock::now();
  std::cout << "converting: asking the model owner for a batch of " << cfg.get_string("model")
            << " (it collects its share from the dealers)..." << std::endl;
  auto c = ppi::client::convert(store, rest, cfg.get_string("model_owner.url"),
                                cfg.get_string("model"), split_list(cfg.get_string("dealers")));
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "batch_id=" << c.batch_id << " model=" << c.model_id
            << " elements=" << c.element_count << " dealers=" << c.seeds.size()
            << " seeds_stored=" << c.seeds.size() << " seconds=" << seconds << "\n";
  return 0;
}

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
    auto cfg = ppi::config::Config::load("client", kSummary, client_keys(), argc, argv);
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
    if (args[0] == "convert") return run_convert(cfg, std::move(database));
    throw ppi::Error(ppi::Errc::config, "unknown command '" + args[0] + "' (see --help)");
  });
}
