#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/config.hpp"
#include "core/error.hpp"
#include "error_code.hpp"

using ppi::Errc;
using ppi::Error;
using ppi::config::Config;
using ppi::config::KeySpec;

namespace {

std::vector<KeySpec> specs() {
  return {ppi::config::required_key("db.url", "database"),
          ppi::config::integer_key("db.pool_size", 4, 1, 64, "pool"),
          ppi::config::boolean_key("tls.insecure", false, "plain"),
          ppi::config::choice_key("log.level", "info", {"debug", "info"}, "level")};
}

Config load(std::vector<const char*> args) {
  args.insert(args.begin(), "prog");
  return Config::load("prog", "test", specs(), static_cast<int>(args.size()), args.data());
}

Errc error_code_of(std::vector<const char*> args) {
  return ppi::test::error_code([&] { load(args); }).value_or(Errc::internal);
}

struct TempFile {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("ppi-config-" + std::to_string(::getpid()) + ".json");
  explicit TempFile(const std::string& text) { std::ofstream(path) << text; }
  ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("config: defaults, file, environment and flags in that order") {
  TempFile file(R"({"db": {"url": "postgresql://file/db", "pool_size": 8}})");
  std::string config_flag = "--config=" + file.path.string();
  {
    auto cfg = load({config_flag.c_str()});
    CHECK(cfg.get_string("db.url") == "postgresql://file/db");
    CHECK(cfg.get_int("db.pool_size") == 8);
    CHECK(cfg.source("db.pool_size") == "file");
    CHECK(cfg.get_bool("tls.insecure") == false);
    CHECK(cfg.source("tls.insecure") == "default");
  }
  ::setenv("PPI_DB_POOL_SIZE", "16", 1);
  {
    auto cfg = load({config_flag.c_str()});
    CHECK(cfg.get_int("db.pool_size") == 16);
    CHECK(cfg.source("db.pool_size") == "environment");
    auto flagged = load({config_flag.c_str(), "--db.pool_size=32", "--tls.insecure"});
    CHECK(flagged.get_int("db.pool_size") == 32);
    CHECK(flagged.get_bool("tls.insecure"));
  }
  ::unsetenv("PPI_DB_POOL_SIZE");
}

TEST_CASE("config: bad values are refused with Errc::config") {
  CHECK(error_code_of({}) == Errc::config);  // db.url is required
  CHECK(error_code_of({"--db.url=x", "--db.pool_size=abc"}) == Errc::config);
  CHECK(error_code_of({"--db.url=x", "--db.pool_size=0"}) == Errc::config);
  CHECK(error_code_of({"--db.url=x", "--db.pool_size=65"}) == Errc::config);
  CHECK(error_code_of({"--db.url=x", "--tls.insecure=maybe"}) == Errc::config);
  CHECK(error_code_of({"--db.url=x", "--log.level=loud"}) == Errc::config);
  CHECK(error_code_of({"--db.url=x", "--no.such.key=1"}) == Errc::config);
  CHECK(error_code_of({"--db.url=x", "--config=/nonexistent/ppi.json"}) == Errc::config);
  TempFile unknown(R"({"db": {"uri": "typo"}})");
  std::string flag = "--config=" + unknown.path.string();
  CHECK(error_code_of({"--db.url=x", flag.c_str()}) == Errc::config);
  TempFile broken("{not json");
  std::string flag2 = "--config=" + broken.path.string();
  CHECK(error_code_of({"--db.url=x", flag2.c_str()}) == Errc::config);
}

TEST_CASE("config: the error names the key and the environment variable") {
  ::setenv("PPI_DB_POOL_SIZE", "many", 1);
  try {
    load({"--db.url=x"});
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find("db.pool_size") != std::string::npos);
    CHECK(msg.find("PPI_DB_POOL_SIZE") != std::string::npos);
  }
  ::unsetenv("PPI_DB_POOL_SIZE");
}

TEST_CASE("config: --help lists every key and its environment variable") {
  auto cfg = load({"--help"});
  REQUIRE(cfg.help_requested());
  std::string help = cfg.help_text();
  for (const auto& s : specs()) {
    CHECK(help.find("--" + s.name) != std::string::npos);
    CHECK(help.find(ppi::config::env_name(s.name)) != std::string::npos);
  }
  CHECK(ppi::config::env_name("db.pool_size") == "PPI_DB_POOL_SIZE");
}

TEST_CASE("config: positional words are kept for sub-commands") {
  auto cfg = load({"--db.url=x", "status", "http://a"});
  REQUIRE(cfg.positional().size() == 2);
  CHECK(cfg.positional()[0] == "status");
}
