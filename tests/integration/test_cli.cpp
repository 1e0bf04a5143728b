// A CLI people enjoy (issue 14 items 8, 9 and item 4's client half), with the real executables:
// --help lists each executable's commands and COMMAND --help only the keys it reads; --version;
// offline commands run with no database, certificate or super dealer; commands print results
// (no info logs) and --json; the list commands on both databases; and what the client checks
// before a batch is bound, and how it says to finish a batch whose online phase did not start.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "db_servers.hpp"
#include "deployment.hpp"
#include "digits_input.hpp"
#include "inference/mlp_program.hpp"
#include "model/mlp.hpp"
#include "process.hpp"

using namespace ppi;
using test::binary;
using test::kDigitsDir;

namespace {

const std::vector<std::string> kActors = {"super_dealer", "dealer", "model_owner", "client"};

// Runs an executable with no configuration at all (no PPI_* variables but these).
int run(const std::string& actor, std::vector<std::string> args, std::string& out,
        std::vector<std::string> env = {}) {
  args.insert(args.begin(), binary(actor));
  return test::run_program(std::move(args), std::move(env), out);
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The one JSON document a --json command printed on stdout. run_program gives stdout and
// stderr together, and progress lines go to stderr: the document is the first line that
// opens an object, to the end.
nlohmann::json json_of(const std::string& out) {
  const auto start = out.rfind('{', 0) == 0 ? 0 : out.find("\n{");
  REQUIRE_MESSAGE(start != std::string::npos, out);
  auto doc = nlohmann::json::parse(out.substr(start), nullptr, false);
  REQUIRE_MESSAGE(!doc.is_discarded(), out);
  return doc;
}

std::int64_t bound_batches(test::Deployment& d) {
  auto s = d.open(d.super_dealer.db_url)->acquire();
  return s.exec("SELECT COUNT(*) FROM batches WHERE state <> 'available' AND kind = 'batch'")
      .rows.at(0)
      .get_int(0);
}

std::string batch_id_in(const std::string& out) {
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"(batch_id=([0-9a-f-]{36}))"))) return m[1];
  return "";
}

int super_dealer_command(test::Deployment& d, std::vector<std::string> args, std::string& out) {
  for (auto& f : d.certs().tls_flags("super_dealer")) args.push_back(f);
  return run("super_dealer", std::move(args), out, {"PPI_DB_URL=" + d.super_dealer.db_url});
}

void run_list_and_online_case(db::Dialect dialect) {
  test::Deployment d(dialect, 3);
  const auto model_file = (kDigitsDir / "model.safetensors").string();
  std::string out;
  REQUIRE_MESSAGE(d.run_model_owner({"register", "digits", model_file, "--model.rows=1"}, out) == 0,
                  out);
  CHECK_MESSAGE(!has(out, "level=info"), out);  // a command's output is its result
  const auto graph = model::load_mlp(std::filesystem::path(model_file));
  const auto plan = inference::mlp_plan(inference::MlpShape::of(graph), 1, false);
  const std::vector<std::string> group = {"dealer-1", "dealer-2", "dealer-3"};
  const auto batches = d.load_batches("digits", plan, group, 3);

  // The list commands: a table, or --json.
  REQUIRE_MESSAGE(super_dealer_command(d, {"models"}, out) == 0, out);
  CHECK_MESSAGE(
      std::regex_search(out, std::regex(R"(MODEL +OWNER +ELEMENTS_PER_BATCH +AVAILABLE)")), out);
  CHECK_MESSAGE(std::regex_search(out, std::regex(R"(digits +model_owner +\d+ +3 +0 +0)")), out);
  REQUIRE_MESSAGE(super_dealer_command(d, {"models", "--json"}, out) == 0, out);
  auto models = json_of(out);
  REQUIRE(models["models"].size() == 1);
  CHECK(models["models"][0]["available"] == 3);
  CHECK(models["models"][0]["elements_per_batch"] == plan.element_count());
  REQUIRE_MESSAGE(super_dealer_command(
                      d, {"batches", "--model=digits", "--state=available", "--json"}, out) == 0,
                  out);
  auto listed = json_of(out)["batches"];
  CHECK(listed.size() == 3);
  for (const auto& b : listed) {
    CHECK(std::find(batches.begin(), batches.end(), b["batch_id"]) != batches.end());
  }
  REQUIRE(super_dealer_command(d, {"batches", "--state=bound", "--json"}, out) == 0);
  CHECK(json_of(out)["batches"].empty());
  REQUIRE(super_dealer_command(d, {"groups", "--json"}, out) == 0);
  CHECK(json_of(out).contains("groups"));
  REQUIRE(super_dealer_command(d, {"groups"}, out) == 0);
  CHECK_MESSAGE(has(out, "GROUP_ID"), out);
  REQUIRE_MESSAGE(d.run_model_owner({"models", "--json"}, out) == 0, out);
  auto mo_models = json_of(out)["models"];
  REQUIRE(mo_models.size() == 1);
  CHECK(mo_models[0]["model_id"] == "digits");
  CHECK(mo_models[0]["rows"] == 1);
  // --verbose brings the info logs back (on stderr).
  REQUIRE(super_dealer_command(d, {"pools", "--verbose"}, out) == 0);
  CHECK_MESSAGE(has(out, "event=database_ready"), out);

  // Checked before a batch is asked for: nothing is bound by these.
  const auto row = test::write_digits_row(d.certs().dir() / "cli-row.json");
  const std::filesystem::path two_rows = d.certs().dir() / "cli-two-rows.json";
  {
    std::ifstream in(row);
    auto doc = nlohmann::json::parse(in);
    doc["inputs"].push_back(doc["inputs"][0]);
    std::ofstream(two_rows) << doc.dump();
  }
  const std::string dealers = "--dealers=dealer-1,dealer-2,dealer-3";
  struct Refusal {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Refusal& r : std::vector<Refusal>{
           {{"--input=" + two_rows.string()}, "model digits takes 1 to 1 input rows, got 2"},
           {{"--tokens=1,2"}, "is an MLP: it takes --input rows, not tokens"},
           {{"--input=" + row.string(), "--model_owner.online=https://127.0.0.1:1"},
            "is not HOST:PORT"},
           {{"--input=" + (d.certs().dir() / "missing.json").string()}, "missing.json"}}) {
    std::vector<std::string> args = {"infer", "--model=digits", dealers};
    for (const auto& a : r.args) args.push_back(a);
    CAPTURE(r.says);
    CHECK(d.run_client(args, out) != 0);
    CHECK_MESSAGE(has(out, r.says), out);
  }
  CHECK(d.run_client({"infer", "--model=nodigits", dealers, "--input=" + row.string()}, out) != 0);
  CHECK_MESSAGE(has(out, "the model owner has no model 'nodigits'"), out);
  CHECK(bound_batches(d) == 0);

  // A wrong online address: the batch is converted, its online phase never starts, and the
  // error says how to finish it; `client online` (either spelling of --batch_id) does.
  const std::string wrong = "--model_owner.online=127.0.0.1:" + std::to_string(test::free_port());
  CHECK(d.run_client({"infer", "--model=digits", dealers, "--input=" + row.string(), wrong}, out) !=
        0);
  const std::string batch = batch_id_in(out);
  REQUIRE_MESSAGE(batch.size() == 36, out);
  CHECK_MESSAGE(has(out, "cannot reach the model owner's online service at 127.0.0.1:"), out);
  CHECK_MESSAGE(has(out, "client online --batch_id=" + batch + " --input=" + row.string()), out);
  CHECK(bound_batches(d) == 1);
  REQUIRE_MESSAGE(
      d.run_client({"online", "--batch-id", batch, "--input=" + row.string(), "--json"}, out) == 0,
      out);
  const auto result = json_of(out);
  CHECK(result["batch_id"] == batch);
  REQUIRE(result["rows"].size() == 1);
  CHECK(result["rows"][0]["class"].is_number_integer());
}

}  // namespace

TEST_CASE("cli: --help lists the commands, COMMAND --help only the keys it reads") {
  std::string out;
  REQUIRE(run("super_dealer", {"--help"}, out) == 0);
  for (const char* line : {"\n  serve ", "\n  group DEALER...", "\n  pool MODEL DEALER...",
                           "\n  pools ", "\n  models ", "\n  batches ", "\n  groups "}) {
    CHECK_MESSAGE(has(out, line), line);
  }
  REQUIRE(run("super_dealer", {"pool", "--help"}, out) == 0);
  CHECK(has(out, "Usage: super_dealer pool MODEL DEALER..."));
  CHECK(has(out, "--db.url"));
  CHECK_FALSE(has(out, "--listen.port"));
  CHECK_FALSE(has(out, "--triple_pool.min_size"));
  REQUIRE(run("super_dealer", {"serve", "--help"}, out) == 0);
  CHECK(has(out, "--listen.port"));
  CHECK(has(out, "--triple_pool.min_size"));
  REQUIRE(run("model_owner", {"--help"}, out) == 0);
  for (const char* c : {"register", "plaintext", "plan", "models"}) CHECK(has(out, c));
  REQUIRE(run("model_owner", {"plan", "--help"}, out) == 0);
  CHECK(has(out, "--model.rows"));
  CHECK_FALSE(has(out, "--db.url"));
  CHECK_FALSE(has(out, "--super_dealer.url"));
  REQUIRE(run("client", {"--help"}, out) == 0);
  for (const char* c : {"status", "convert", "infer", "online", "generate", "serve"}) {
    CHECK(has(out, std::string("\n  ") + c));
  }
  CHECK_FALSE(has(out, "--batch-id <"));  // the key is --batch_id; both spellings are taken
  REQUIRE(run("client", {"infer", "--help"}, out) == 0);
  CHECK(has(out, "--model_owner.online"));
  CHECK(has(out, "--input "));
  CHECK_FALSE(has(out, "--serve.port"));
  CHECK_FALSE(has(out, "--batch_id <"));
  REQUIRE(run("client", {"online", "--help"}, out) == 0);
  CHECK(has(out, "--batch_id"));
  CHECK(has(out, "--batch-id is --batch_id"));
  REQUIRE(run("client", {"status", "--help"}, out) == 0);
  CHECK_FALSE(has(out, "--db.url"));
}

TEST_CASE("cli: --version on all four executables") {
  for (const auto& actor : kActors) {
    CAPTURE(actor);
    std::string out;
    REQUIRE(run(actor, {"--version"}, out) == 0);
    CHECK_MESSAGE(std::regex_search(out, std::regex("^" + actor + R"( \d+\.\d+\.\d+)")), out);
  }
}

TEST_CASE("cli: offline commands need no database, certificate or super dealer") {
  const auto model = (kDigitsDir / "model.safetensors").string();
  const auto dir =
      std::filesystem::temp_directory_path() / ("ppi-cli-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto row = test::write_digits_row(dir / "row.json");
  std::string out;
  REQUIRE_MESSAGE(run("model_owner", {"plan", model}, out) == 0, out);
  CHECK(has(out, "\"type\":\"TRIPLE\""));
  CHECK_FALSE(has(out, "level="));
  REQUIRE_MESSAGE(run("model_owner", {"plan", model, "--json"}, out) == 0, out);
  CHECK(json_of(out).contains("plan"));
  REQUIRE_MESSAGE(run("model_owner", {"plaintext", model, row.string()}, out) == 0, out);
  CHECK(std::regex_search(out,
                          std::regex(R"(^row=0 plaintext_class=\d plaintext_float_class=\d\n$)")));
  REQUIRE_MESSAGE(run("model_owner", {"plaintext", model, row.string(), "--json"}, out) == 0, out);
  CHECK(json_of(out)["rows"].size() == 1);
  // Swapped arguments say which file is not a safetensors file and which order is expected.
  CHECK(run("model_owner", {"plaintext", row.string(), model}, out) == 1);
  CHECK_MESSAGE(has(out, row.string()), out);
  CHECK_MESSAGE(has(out, "not a safetensors file"), out);
  CHECK_MESSAGE(has(out, "MODEL.safetensors INPUT.json"), out);
  // status needs no database; an http:// URL no certificate.
  const auto port = std::to_string(test::free_port());
  CHECK(run("client", {"status", "http://127.0.0.1:" + port}, out) == 1);
  CHECK_MESSAGE(has(out, "status=unreachable"), out);
  CHECK_FALSE(has(out, "db.url"));
  // A wrong command or argument count is a usage line.
  CHECK(run("super_dealer", {"pool", "digits"}, out) == 2);
  CHECK_MESSAGE(has(out, "usage: super_dealer pool MODEL DEALER..."), out);
  CHECK(run("super_dealer", {"statuss"}, out) == 2);
  CHECK_MESSAGE(has(out, "unknown command 'statuss'"), out);
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli: a certificate with another identity's key is said so at start-up") {
  test::Certificates certs({"super_dealer", "client"});
  const auto dir = certs.dir();
  std::string out;
  const auto port = std::to_string(test::free_port());
  CHECK(run("client",
            {"status", "https://127.0.0.1:" + port, "--tls.cert=" + (dir / "client.pem").string(),
             "--tls.key=" + (dir / "super_dealer.key").string(),
             "--tls.ca=" + (dir / "ca.pem").string()},
            out) == 2);
  CHECK_MESSAGE(has(out, "do not match"), out);
  CHECK_MESSAGE(has(out, (dir / "super_dealer.key").string()), out);
  CHECK_FALSE(has(out, "status=unreachable"));
  // And an http:// URL to an mTLS port says it may be a TLS port.
  test::ActorProcess sd{
      "super_dealer",
      "",
      test::test_databases().server(db::Dialect::postgresql).create_database("cli_tls"),
      nullptr,
      "",
      {}};
  const auto sd_port = std::to_string(test::free_port());
  std::vector<std::string> argv = {binary("super_dealer"), "--listen.port=" + sd_port};
  for (auto& f : certs.tls_flags("super_dealer")) argv.push_back(f);
  sd.process = std::make_unique<test::ChildProcess>(
      argv, std::vector<std::string>{"PPI_DB_URL=" + sd.db_url}, dir / "sd.log");
  test::wait_healthy(*sd.process, certs.client("client").to("super_dealer"),
                     "https://127.0.0.1:" + sd_port);
  CHECK(run("client", {"status", "http://127.0.0.1:" + sd_port}, out) == 1);
  CHECK_MESSAGE(has(out, "use an https:// URL"), out);
}

TEST_CASE("cli: list commands, pre-checks and finishing an unstarted batch (PostgreSQL)") {
  run_list_and_online_case(db::Dialect::postgresql);
}

TEST_CASE("cli: list commands, pre-checks and finishing an unstarted batch (MariaDB)") {
  run_list_and_online_case(db::Dialect::mysql);
}
