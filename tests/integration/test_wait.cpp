// An empty pool (issue 14 item 5): the super dealer answers 503 with Retry-After, its estimate
// of when a generation of the pool ends, or without it and saying why when no pool of the
// model and group exists; the model owner relays both; `client infer --wait SECONDS` asks again
// (progress on stderr) until material comes or the time is up. Nothing is bound meanwhile.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "deployment.hpp"
#include "digits_input.hpp"

using namespace ppi;
using namespace std::chrono_literals;

namespace {

using test::kDigitsDir;

net::Response ask_for_batch(test::Deployment& d, const std::vector<std::string>& group) {
  const nlohmann::json body = {
      {"model_id", "digits"}, {"dealers", group}, {"client_identity", "client"}};
  return net::fetch(d.certs().client("model_owner").to("super_dealer"), net::http::verb::post,
                    d.super_dealer.url + "/v1/batch_id", body.dump());
}

std::int64_t bound_batches(test::Deployment& d) {
  auto s = d.open(d.super_dealer.db_url)->acquire();
  return s
      .exec(
          "SELECT COUNT(*) FROM batches WHERE state <> 'available' AND state <> "
          "'generating' AND state <> 'failed' AND kind = 'batch'")
      .rows.at(0)
      .get_int(0);
}

void run_wait_case(db::Dialect dialect) {
  test::Deployment d(dialect, 3, test::pool_env(1, 1));
  std::string out;
  REQUIRE_MESSAGE(d.run_model_owner({"register", "digits",
                                     (kDigitsDir / "model.safetensors").string(), "--model.rows=1"},
                                    out) == 0,
                  out);
  const auto group = d.dealer_ids();
  d.form_group(group);
  const auto input_file = test::write_digits_row(d.certs().dir() / "wait-input.json");
  const std::vector<std::string> infer = {"infer", "--model=digits",
                                          "--dealers=dealer-1,dealer-2,dealer-3",
                                          "--input=" + input_file.string()};

  // No pool of (digits, group): nothing will come, and the answer says who can change that.
  const auto none = ask_for_batch(d, group);
  CHECK(none.result() == net::http::status::service_unavailable);
  CHECK(none[net::http::field::retry_after].empty());
  CHECK(none.body().find("POST /v1/pools") != std::string::npos);
  // The client waits as long as it was told to, saying so, then gives up with that answer.
  auto args = infer;
  args.push_back("--wait=3");
  CHECK(d.run_client(args, out) != 0);
  CHECK_MESSAGE(out.find("waiting for material: ") != std::string::npos, out);
  CHECK_MESSAGE(out.find("s left of --wait") != std::string::npos, out);
  CHECK_MESSAGE(out.find("no pool generates it") != std::string::npos, out);
  CHECK(bound_batches(d) == 0);

  // A pool being filled: 503 with the super dealer's estimate, in seconds.
  d.add_pool("digits", group);
  const auto filling = ask_for_batch(d, group);
  REQUIRE_MESSAGE(filling.result() == net::http::status::service_unavailable, filling.body());
  const std::string retry(filling[net::http::field::retry_after]);
  REQUIRE_FALSE(retry.empty());
  CHECK(std::stoi(retry) >= 1);
  CHECK(filling.body().find("being generated") != std::string::npos);

  // --wait rides it out: the inference ends with a class once the generation is done.
  args = infer;
  args.push_back("--wait=300");
  REQUIRE_MESSAGE(d.run_client(args, out) == 0, out);
  CHECK_MESSAGE(out.find("row=0 private_class=") != std::string::npos, out);
  CHECK(bound_batches(d) == 1);
}

}  // namespace

TEST_CASE("empty pool: Retry-After and client --wait (PostgreSQL)") {
  run_wait_case(db::Dialect::postgresql);
}

TEST_CASE("empty pool: the same on MariaDB") {
  run_wait_case(db::Dialect::mysql);
}
