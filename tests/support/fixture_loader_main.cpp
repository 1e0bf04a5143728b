// ppi_fixture_loader: TEST FIXTURE for the local deployment (scripts/run-local.sh) until the
// dealers generate material themselves: a trusted dealer makes batches for a model's plan and
// writes each dealer's share into that dealer's database, then registers the batches with the
// super dealer. It sees every secret it makes; it is never part of an actor.
//
//   ppi_fixture_loader --super-dealer-db URL --dealer ID=URL ... --model M --plan FILE [--batches
//   N]
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.hpp"
#include "fixture_loader.hpp"

namespace {

int run(int argc, char** argv) {
  std::string sd_url, model, plan_file;
  int batches = 1;
  std::map<std::string, std::shared_ptr<ppi::db::Database>> dealers;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    if (key == "--super-dealer-db") {
      sd_url = value;
    } else if (key == "--dealer") {
      auto eq = value.find('=');
      if (eq == std::string::npos) throw ppi::Error(ppi::Errc::config, "--dealer takes ID=URL");
      dealers[value.substr(0, eq)] = ppi::db::Database::open({.url = value.substr(eq + 1)});
    } else if (key == "--model") {
      model = value;
    } else if (key == "--plan") {
      plan_file = value;
    } else if (key == "--batches") {
      batches = std::stoi(value);
    } else {
      throw ppi::Error(ppi::Errc::config, "unknown option " + key);
    }
  }
  if (sd_url.empty() || model.empty() || plan_file.empty() || dealers.size() < 2) {
    throw ppi::Error(ppi::Errc::config,
                     "usage: ppi_fixture_loader --super-dealer-db URL --dealer ID=URL ... "
                     "--model M --plan FILE [--batches N]");
  }
  std::ifstream in(plan_file);
  std::stringstream text;
  text << in.rdbuf();
  auto plan = ppi::material::MaterialPlan::parse(text.str());
  auto registry = ppi::db::Database::open({.url = sd_url});
  auto loaded = ppi::test::load_fixture_batches(*registry, dealers, model, plan, batches);
  std::cout << "fixture: " << loaded.size() << " batch(es) of " << plan.element_count()
            << " MAC'd elements for model " << model << " loaded into " << dealers.size()
            << " dealers (TEST FIXTURE material, made by a trusted dealer)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "ppi_fixture_loader: error: " << e.what() << "\n";
    return 1;
  }
}
