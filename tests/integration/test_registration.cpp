// Registering a model again (issue 14 item 7): as it is, nothing changes; with other settings
// it is refused, naming what differs, and nothing is stored; with --replace the new settings
// are taken and the change is recorded in the model owner's model_changes.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "deployment.hpp"

using namespace ppi;
using ppi::test::Deployment;

namespace {

std::int64_t scalar(Deployment& d, const std::string& sql) {
  auto s = d.open(d.model_owner.db_url)->acquire();
  return s.exec(sql).rows.at(0).get_int(0);
}

void run_registration_case(db::Dialect dialect) {
  Deployment d(dialect, 3);
  const std::string digits =
      (std::filesystem::path(PPI_SOURCE_DIR) / "models/digits_mlp/model.safetensors").string();
  std::string out;
  REQUIRE_MESSAGE(
      d.run_model_owner({"register", "digits", digits, "--model.reveal_logits"}, out) == 0, out);
  // The same again: accepted, nothing recorded.
  REQUIRE_MESSAGE(
      d.run_model_owner({"register", "digits", digits, "--model.reveal_logits"}, out) == 0, out);
  CHECK(scalar(d, "SELECT COUNT(*) FROM model_changes") == 0);

  // Logits off, without --replace: refused, the stored settings as they were.
  CHECK(d.run_model_owner({"register", "digits", digits}, out) != 0);
  CHECK_MESSAGE(out.find("registered with other settings (reveal_logits: true -> false)") !=
                    std::string::npos,
                out);
  CHECK_MESSAGE(out.find("--replace") != std::string::npos, out);
  CHECK(scalar(d, "SELECT reveal_logits FROM models WHERE model_id = 'digits'") == 1);
  CHECK(scalar(d, "SELECT COUNT(*) FROM model_changes") == 0);

  // With --replace: taken and recorded.
  REQUIRE_MESSAGE(d.run_model_owner({"register", "digits", digits, "--replace"}, out) == 0, out);
  CHECK(scalar(d, "SELECT reveal_logits FROM models WHERE model_id = 'digits'") == 0);
  auto s = d.open(d.model_owner.db_url)->acquire();
  auto r = s.exec("SELECT settings_before, settings_after FROM model_changes");
  REQUIRE(r.rows.size() == 1);
  CHECK(r.rows[0].get_string(0).find("\"reveal_logits\":true") != std::string::npos);
  CHECK(r.rows[0].get_string(1).find("\"reveal_logits\":false") != std::string::npos);
}

}  // namespace

TEST_CASE("registration: other settings need --replace, and the change is recorded (PostgreSQL)") {
  run_registration_case(db::Dialect::postgresql);
}

TEST_CASE("registration: the same on MariaDB") {
  run_registration_case(db::Dialect::mysql);
}
