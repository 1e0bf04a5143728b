// The private MLP program run by both roles on the committed digits model: its logits against
// the plaintext fixed-point reference, its classes against the float model on the whole test
// split, its plan against what it consumes, and runs that must fail.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "core/error.hpp"
#include "inference/mlp_program.hpp"
#include "model/mlp.hpp"
#include "model/reference.hpp"
#include "model/safetensors.hpp"
#include "mpc/plan_recorder.hpp"
#include "private_mlp.hpp"

using namespace ppi;
using namespace ppi::inference;
using namespace ppi::inference::test;

namespace {

const std::filesystem::path kModelDir = std::filesystem::path(PPI_SOURCE_DIR) / "models/digits_mlp";
constexpr std::size_t kBatch = 64;

struct Digits {
  model::MlpGraph graph = model::load_mlp(kModelDir / "model.safetensors");
  std::vector<double> inputs;  // samples x input_dim
  std::vector<std::int64_t> labels;

  Digits() {
    const model::SafeTensors st = model::read_safetensors(kModelDir / "test_inputs.safetensors");
    const auto in = st.tensor("inputs").to_doubles();
    inputs.assign(in.begin(), in.end());
    labels = st.tensor("labels").to_int64s();
  }
  std::size_t samples() const { return labels.size(); }
  // Rows [first, first + count) encoded, zero rows appended up to `rows` (as the client pads).
  std::vector<u64> encoded(std::size_t first, std::size_t count, std::size_t rows) const {
    std::vector<double> x(
        inputs.begin() + static_cast<std::ptrdiff_t>(first * graph.input_dim),
        inputs.begin() + static_cast<std::ptrdiff_t>((first + count) * graph.input_dim));
    x.resize(rows * graph.input_dim, 0.0);
    return model::encode_inputs(graph, x);
  }
};

const Digits& digits() {
  static const Digits d;
  return d;
}

std::int64_t signed_diff(u64 a, u64 b) {
  return static_cast<std::int64_t>(a - b);
}

void expect_error(Errc code, const std::string& needle, const std::function<void()>& f) {
  try {
    f();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == code);
    CHECK_MESSAGE(std::string(e.what()).find(needle) != std::string::npos, std::string(e.what()));
  }
}

}  // namespace

TEST_CASE(
    "private MLP on the whole digits test split: logits within the truncation bound of "
    "the fixed-point reference, accuracy within 0.5 points of the float model") {
  const Digits& d = digits();
  const model::MlpGraph& g = d.graph;
  const std::vector<std::uint64_t> bound = logit_error_bound(g);
  MESSAGE("documented logit error bound per class (ulps): "
          << *std::min_element(bound.begin(), bound.end()) << " to "
          << *std::max_element(bound.begin(), bound.end()));
  const material::MaterialPlan plan = mlp_plan(MlpShape::of(g), kBatch, true);

  std::size_t correct_private = 0, correct_float = 0, same_as_fixed = 0;
  std::size_t logits_total = 0, logits_exact = 0;
  std::int64_t worst = 0;
  for (std::size_t first = 0; first < d.samples(); first += kBatch) {
    const std::size_t count = std::min(kBatch, d.samples() - first);
    const std::vector<u64> x = d.encoded(first, count, kBatch);
    const PrivateRun run = run_private_mlp(g, x, kBatch, true, &plan);
    REQUIRE(run.client.classes.size() == kBatch);
    REQUIRE(run.client.logits.size() == kBatch * g.classes);
    CHECK(run.model_owner.classes.empty());  // the model owner learns nothing
    CHECK(run.model_owner.logits.empty());
    CHECK(run.material_left_mo == 0);
    CHECK(run.material_left_client == 0);

    const model::FixedPointResult ref = model::fixed_point_forward(g, x, kBatch);
    const std::vector<double> xf(
        d.inputs.begin() + static_cast<std::ptrdiff_t>(first * g.input_dim),
        d.inputs.begin() + static_cast<std::ptrdiff_t>((first + count) * g.input_dim));
    const model::FloatResult flt = model::float_forward(g, xf, count);
    for (std::size_t r = 0; r < kBatch; ++r) {
      const std::span<const u64> row(run.client.logits.data() + r * g.classes, g.classes);
      // The revealed class is the argmax of the revealed logits (first maximum on ties).
      CHECK(run.client.classes[r] == model::argmax_signed(row));
      for (std::size_t k = 0; k < g.classes; ++k) {
        const std::int64_t diff = signed_diff(row[k], ref.logits[r * g.classes + k]);
        CHECK(static_cast<std::uint64_t>(std::llabs(diff)) <= bound[k]);
        worst = std::max<std::int64_t>(worst, std::llabs(diff));
        logits_exact += diff == 0 ? 1 : 0;
        ++logits_total;
      }
      if (r >= count) continue;  // padding rows
      const auto label = static_cast<std::size_t>(d.labels[first + r]);
      correct_private += run.client.classes[r] == label ? 1 : 0;
      correct_float += flt.predictions[r] == label ? 1 : 0;
      same_as_fixed += run.client.classes[r] == ref.predictions[r] ? 1 : 0;
    }
  }
  const double n = static_cast<double>(d.samples());
  const double acc_private = 100.0 * static_cast<double>(correct_private) / n;
  const double acc_float = 100.0 * static_cast<double>(correct_float) / n;
  MESSAGE("digits test split, " << d.samples() << " samples in batches of " << kBatch
                                << ": private accuracy " << acc_private << " % (" << correct_private
                                << "), float accuracy " << acc_float << " % (" << correct_float
                                << "); private class = fixed-point class on " << same_as_fixed
                                << "; logits exactly equal to the reference: " << logits_exact
                                << " of " << logits_total << ", largest difference " << worst
                                << " ulp");
  CHECK(std::abs(acc_private - acc_float) <= 0.5);
  CHECK(correct_private > 0);
}

TEST_CASE("one row, logits not revealed: the client gets its class only") {
  const Digits& d = digits();
  const std::size_t sample = 5;
  const std::vector<u64> x = d.encoded(sample, 1, 1);
  const PrivateRun run = run_private_mlp(d.graph, x, 1, false);
  REQUIRE(run.client.classes.size() == 1);
  CHECK(run.client.logits.empty());
  CHECK(run.model_owner.classes.empty());
  CHECK(run.model_owner.logits.empty());
  CHECK(run.client.classes[0] == model::fixed_point_forward(d.graph, x, 1).predictions[0]);
  CHECK(run.material_left_mo == 0);
  CHECK(run.material_left_client == 0);
}

TEST_CASE("the recorded plan and traffic are the program's, whichever role records it") {
  const Digits& d = digits();
  const MlpShape shape = MlpShape::of(d.graph);
  for (const std::size_t rows : {std::size_t{1}, std::size_t{3}}) {
    for (const bool reveal : {false, true}) {
      CAPTURE(rows);
      CAPTURE(reveal);
      const mpc::RecordedProgram rec = record_mlp(shape, rows, reveal);
      const mpc::RecordedProgram rec_mo = mpc::record_program(
          mpc::Role::model_owner,
          [&](mpc::Party& p) { run_mlp_model_owner(p, d.graph, rows, reveal); }, shape.frac_bits,
          shape.magnitude_bits);
      CHECK(rec.plan == rec_mo.plan);
      CHECK(rec.plan == mlp_plan(shape, rows, reveal));
      CHECK(rec.bytes_sent == rec_mo.bytes_received);
      CHECK(rec.bytes_received == rec_mo.bytes_sent);

      const std::vector<u64> x = d.encoded(0, rows, rows);
      const PrivateRun run = run_private_mlp(d.graph, x, rows, reveal, &rec.plan);
      CHECK(run.rounds == rec.rounds);
      CHECK(run.bytes_client_to_mo == rec.bytes_sent);
      CHECK(run.bytes_mo_to_client == rec.bytes_received);
      CHECK(run.material_left_mo == 0);
      CHECK(run.material_left_client == 0);
    }
  }
  // Revealing the logits costs traffic, not material.
  CHECK(mlp_plan(shape, 2, false) == mlp_plan(shape, 2, true));
  CHECK(record_mlp(shape, 2, true).bytes_received ==
        record_mlp(shape, 2, false).bytes_received + 8 * 2 * shape.classes);
}

TEST_CASE("a batch whose plan is too small fails with a conflict naming the material") {
  const Digits& d = digits();
  const MlpShape shape = MlpShape::of(d.graph);
  const std::vector<u64> x = d.encoded(0, 4, 4);

  // A plan made for fewer rows.
  const material::MaterialPlan small = mlp_plan(shape, 2, false);
  expect_error(Errc::conflict, "MASKED_TRIPLE",
               [&] { run_private_mlp(d.graph, x, 4, false, &small); });

  // The right plan short of one instance of its last item (material for the final argmax).
  std::vector<material::PlanItem> items = mlp_plan(shape, 4, false).items();
  --items.back().count;
  const material::MaterialPlan short_plan(items);
  expect_error(Errc::conflict, "", [&] { run_private_mlp(d.graph, x, 4, false, &short_plan); });
}

TEST_CASE("bad calls are refused before anything is sent") {
  const Digits& d = digits();
  const MlpShape shape = MlpShape::of(d.graph);
  expect_error(Errc::invalid_argument, "1 to", [&] { mlp_plan(shape, 0, false); });
  expect_error(Errc::invalid_argument, "rows", [&] { mlp_plan(shape, kMaxValues, false); });
  MlpShape broken = shape;
  broken.layers[2].in = 31;
  expect_error(Errc::invalid_argument, "takes 31 values", [&] { mlp_plan(broken, 1, false); });

  // A client input of the wrong length, at the recorder (no peer needed to find it).
  const std::vector<u64> short_input(shape.input_dim - 1, 0);
  expect_error(Errc::invalid_argument, "input holds 63 values", [&] {
    mpc::record_program(mpc::Role::client,
                        [&](mpc::Party& p) { run_mlp_client(p, shape, short_input, 1, false); });
  });
  // Each role's entry point refuses the other role's party.
  expect_error(Errc::internal, "client", [&] {
    mpc::record_program(mpc::Role::client,
                        [&](mpc::Party& p) { run_mlp_model_owner(p, d.graph, 1, false); });
  });
}
