// The command-line pieces (issue 14 items 8 and 9): flag spellings, validation of only the
// keys a command reads, --version, the text forms of results, and a certificate whose key is
// another's refused at start-up with both files named.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "app/cli.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "net/tls.hpp"

namespace fs = std::filesystem;
using ppi::config::Config;

namespace {

std::vector<ppi::config::KeySpec> specs() {
  return {ppi::config::required_key("db.url", "database"),
          ppi::config::string_key("batch_id", "", "a batch"),
          ppi::config::integer_key("max_tokens", 16, 1, 64, "tokens"),
          ppi::config::boolean_key("json", false, "json")};
}

Config parse(std::vector<const char*> args) {
  args.insert(args.begin(), "prog");
  return Config::parse("prog", "test", specs(), static_cast<int>(args.size()), args.data());
}

}  // namespace

TEST_CASE("cli: a dash in a flag name is an underscore") {
  auto cfg = parse({"--batch-id=b1", "--max-tokens", "7", "online"});
  CHECK(cfg.get_string("batch_id") == "b1");
  CHECK(cfg.get_int("max_tokens") == 7);
  CHECK(cfg.positional() == std::vector<std::string>{"online"});
  CHECK(parse({"--batch_id=b2"}).get_string("batch_id") == "b2");
  CHECK(parse({}).help_text().find("--batch-id is --batch_id") != std::string::npos);
}

TEST_CASE("cli: only the keys a command reads are validated") {
  // No db.url: an offline command that never opens the database is not asked for one.
  auto cfg = parse({"--max_tokens=3", "plan"});
  CHECK_NOTHROW(cfg.validate({"max_tokens", "json"}));
  CHECK_THROWS_WITH_AS(cfg.validate({"db.url"}),
                       "config db.url: a value is required (from default)", ppi::Error);
  // A bad value of a key the command does not read is refused once it is read.
  auto bad = parse({"--max_tokens=many"});
  CHECK_NOTHROW(bad.validate({"batch_id"}));
  CHECK_THROWS_WITH_AS(bad.get_int("max_tokens"),
                       "config max_tokens: expected an integer, got 'many' (from flag)",
                       ppi::Error);
  // load() still validates every key.
  std::vector<const char*> argv = {"prog", "--max_tokens=3"};
  CHECK_THROWS_AS(Config::load("prog", "t", specs(), 2, argv.data()), ppi::Error);
}

TEST_CASE("cli: --version is asked for, and the version names the project version") {
  CHECK(parse({"--version"}).version_requested());
  CHECK_FALSE(parse({}).version_requested());
  const std::string v = ppi::app::version();
  CHECK(v.rfind(PPI_TEST_PROJECT_VERSION, 0) == 0);
}

TEST_CASE("cli: results as key=value lines and as aligned tables") {
  nlohmann::ordered_json fields = {
      {"batch_id", "b1"}, {"rows", 4}, {"detail", "a b"}, {"empty", ""}, {"ok", true}};
  CHECK(ppi::app::key_values(fields) == "batch_id=b1 rows=4 detail=\"a b\" empty=\"\" ok=true");
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  rows.push_back({{"model", "digits"}, {"state", "available"}, {"count", 12}});
  rows.push_back({{"model", "gpt2-small"}, {"state", nullptr}, {"count", 3}});
  CHECK(ppi::app::text_table({"model", "state", "count"}, rows) ==
        "MODEL       STATE      COUNT\n"
        "digits      available  12\n"
        "gpt2-small  -          3\n");
}

TEST_CASE("cli: a certificate and a key of two identities are refused, naming both files") {
  const fs::path dir = fs::temp_directory_path() / ("ppi-cli-certs-" + std::to_string(::getpid()));
  const std::string script = std::string(PPI_SOURCE_DIR) + "/scripts/make-certs.sh";
  REQUIRE(std::system((script + " " + dir.string() + " client other:client > /dev/null").c_str()) ==
          0);
  const std::string cert = (dir / "client.pem").string(), key = (dir / "other.key").string();
  ppi::net::TlsOptions swapped{cert, key, (dir / "ca.pem").string(), true};
  try {
    ppi::net::check_identity(swapped);
    FAIL("a key of another identity was accepted");
  } catch (const ppi::Error& e) {
    const std::string what = e.what();
    CHECK(e.code() == ppi::Errc::config);
    CHECK(what.find("do not match") != std::string::npos);
    CHECK(what.find(cert) != std::string::npos);
    CHECK(what.find(key) != std::string::npos);
  }
  ppi::net::TlsOptions pair{cert, (dir / "client.key").string(), (dir / "ca.pem").string(), true};
  CHECK_NOTHROW(ppi::net::check_identity(pair));
  fs::remove_all(dir);
}
