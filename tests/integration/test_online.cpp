// The online phase end to end (issue 5): real executables, real databases, mTLS. The digits
// model is registered from its safetensors file, fixture batches of its plan are loaded (the
// converter and the online phase do not care who made the material), and `client infer`
// classifies rows of the committed test split privately; the answers must equal the plaintext
// fixed-point reference. Reused, foreign, tampered and unknown batch ids are refused by both
// sides with clear errors.
#include <doctest/doctest.h>

#include <grpcpp/create_channel.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "audit_check.hpp"
#include "deployment.hpp"
#include "grpc/grpc_tls.hpp"
#include "inference/mlp_program.hpp"
#include "model/mlp.hpp"
#include "model/reference.hpp"
#include "model/safetensors.hpp"
#include "proto/online.grpc.pb.h"
#include "ring/fixed_point.hpp"

using namespace ppi;
using ppi::test::Deployment;

namespace {

const std::filesystem::path kModelDir = std::filesystem::path(PPI_SOURCE_DIR) / "models/digits_mlp";
constexpr std::size_t kRows = 4;

struct Sample {
  std::vector<double> inputs;  // kRows x 64
  std::filesystem::path file;  // the same rows as the client's JSON input
};

Sample write_sample(const std::filesystem::path& dir, std::size_t first_row) {
  const auto split = model::read_safetensors(kModelDir / "test_inputs.safetensors");
  const auto all = split.tensor("inputs").to_doubles();
  Sample s;
  nlohmann::json rows = nlohmann::json::array();
  for (std::size_t r = first_row; r < first_row + kRows; ++r) {
    nlohmann::json row = nlohmann::json::array();
    for (std::size_t j = 0; j < 64; ++j) {
      s.inputs.push_back(all[64 * r + j]);
      row.push_back(all[64 * r + j]);
    }
    rows.push_back(row);
  }
  s.file = dir / ("input-" + std::to_string(first_row) + ".json");
  std::ofstream(s.file) << nlohmann::json{{"inputs", rows}}.dump();
  return s;
}

// `row=R private_class=C logits=[a, b, ...]` lines of `client infer` / `client online`.
struct Printed {
  std::vector<std::size_t> classes;
  std::vector<std::vector<double>> logits;
  std::string batch_id;
};

Printed parse_output(const std::string& out) {
  Printed p;
  const std::regex row(R"(row=(\d+) private_class=(\d+) logits=\[([^\]]*)\])");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), row); it != std::sregex_iterator();
       ++it) {
    p.classes.push_back(std::stoul((*it)[2]));
    std::vector<double> l;
    std::stringstream values((*it)[3].str());
    for (std::string v; std::getline(values, v, ',');) l.push_back(std::stod(v));
    p.logits.push_back(l);
  }
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"(batch_id=([0-9a-f-]{36}))"))) p.batch_id = m[1];
  return p;
}

// Opens the online stream as `identity` and sends Start{batch_id}: the model owner's answer.
grpc::Status start_online(const Deployment& d, const std::string& identity,
                          const std::string& batch_id) {
  auto stub = online::v1::OnlineInference::NewStub(grpc::CreateChannel(
      d.online_endpoint(),
      grpcsvc::channel_credentials(d.certs().client(identity).tls, "model_owner")));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = stub->Run(&context);
  online::v1::OnlineMessage start;
  start.mutable_start()->set_batch_id(batch_id);
  stream->Write(start);
  stream->WritesDone();
  online::v1::OnlineMessage ignored;
  while (stream->Read(&ignored)) {
  }
  return stream->Finish();
}

void run_online_case(db::Dialect dialect) {
  Deployment d(dialect, 3);
  const auto model_file = (kModelDir / "model.safetensors").string();
  std::string out;
  REQUIRE_MESSAGE(
      d.run_model_owner({"register", "digits", model_file, "--model.rows=" + std::to_string(kRows),
                         "--model.reveal_logits"},
                        out) == 0,
      out);
  const auto graph = model::load_mlp(std::filesystem::path(model_file));
  const auto plan = inference::mlp_plan(inference::MlpShape::of(graph), kRows, true);
  const std::vector<std::string> group = {"dealer-1", "dealer-2", "dealer-3"};
  d.load_batches("digits", plan, group, 3);

  // One private inference of 4 test rows, against the plaintext fixed-point reference.
  const Sample sample = write_sample(d.certs().dir(), 10);
  const std::vector<std::string> infer = {"infer", "--model=digits",
                                          "--dealers=dealer-1,dealer-2,dealer-3",
                                          "--input=" + sample.file.string()};
  REQUIRE_MESSAGE(d.run_client(infer, out) == 0, out);
  const Printed got = parse_output(out);
  const auto reference =
      model::fixed_point_forward(graph, model::encode_inputs(graph, sample.inputs), kRows);
  REQUIRE(got.classes.size() == kRows);
  const FixedPoint fp(graph.frac_bits);
  std::size_t truncations = 0;
  for (const auto& layer : graph.layers)
    truncations += std::holds_alternative<model::Linear>(layer);
  for (std::size_t r = 0; r < kRows; ++r) {
    CHECK(got.classes[r] == reference.predictions[r]);
    REQUIRE(got.logits[r].size() == graph.classes);
    for (std::size_t j = 0; j < graph.classes; ++j) {
      const double want = fp.decode(reference.logits[r * graph.classes + j]);
      // 1 ulp per truncation, compounded through later layers' weights: a loose but failing
      // bound (a wrong value is off by far more).
      CHECK(std::abs(got.logits[r][j] - want) <=
            64.0 * truncations / std::ldexp(1.0, graph.frac_bits));
    }
  }
  REQUIRE(got.batch_id.size() == 36);
  MESSAGE("private classes equal the plaintext reference for " << kRows << " rows");

  // Reused batch: the client refuses it from its own database...
  CHECK(d.run_client({"online", "--batch_id=" + got.batch_id, "--input=" + sample.file.string()},
                     out) != 0);
  CHECK(out.find("already used") != std::string::npos);
  // ...and the model owner refuses it too, whoever asks.
  auto status = start_online(d, "client", got.batch_id);
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(status.error_message().find("already used") != std::string::npos);

  // A converted, unused batch: another client's certificate is refused, then its own client
  // still runs it.
  REQUIRE_MESSAGE(
      d.run_client({"convert", "--model=digits", "--dealers=dealer-1,dealer-2,dealer-3"}, out) == 0,
      out);
  const std::string fresh = parse_output(out).batch_id;
  REQUIRE(fresh.size() == 36);
  status = start_online(d, "client-2", fresh);
  CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  // Tampered and unknown ids.
  std::string tampered = fresh;
  tampered[0] = tampered[0] == 'a' ? 'b' : 'a';
  CHECK(start_online(d, "client", tampered).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(start_online(d, "client", "not-a-batch").error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(d.run_client({"online", "--batch_id=" + tampered, "--input=" + sample.file.string()},
                     out) != 0);
  CHECK(out.find("holds no batch") != std::string::npos);

  REQUIRE_MESSAGE(
      d.run_client({"online", "--batch_id=" + fresh, "--input=" + sample.file.string()}, out) == 0,
      out);
  CHECK(parse_output(out).classes == got.classes);

  // The audit trail: both sides record the batch as done, the model owner's share is gone.
  auto mo = d.open(d.model_owner.db_url)->acquire();
  auto rows = mo.exec("SELECT state, online_rounds FROM inferences WHERE batch_id = ?", {fresh});
  REQUIRE(rows.rows.size() == 1);
  CHECK(rows.rows[0].get_string(0) == "done");
  CHECK(rows.rows[0].get_int(1) > 0);
  CHECK(mo.exec("SELECT seq FROM share_chunks WHERE batch_id = ?", {fresh}).rows.empty());
  auto client = d.open(d.client_db_url())->acquire();
  CHECK(client.exec("SELECT dealer_id FROM seeds WHERE batch_id = ?", {fresh}).rows.empty());
  CHECK(client.exec("SELECT state FROM inferences WHERE batch_id = ?", {fresh})
            .rows[0]
            .get_string(0) == "done");
  test::require_clean_audit(d);
}

}  // namespace

TEST_CASE(
    "online phase: private digits classification equals the plaintext reference (PostgreSQL)") {
  run_online_case(db::Dialect::postgresql);
}

TEST_CASE("online phase: the same on MariaDB") {
  run_online_case(db::Dialect::mysql);
}
