#include <doctest/doctest.h>

#include <cstdlib>

#include "core/error.hpp"
#include "mpc/compare.hpp"
#include "mpc/linear.hpp"
#include "mpc/plan_recorder.hpp"
#include "mpc/truncate.hpp"
#include "ring/fixed_point.hpp"
#include "two_party.hpp"

using namespace ppi;
using namespace ppi::mpc;
using namespace ppi::mpc::test;

namespace {

constexpr int kF = 16;
constexpr std::uint32_t kBatch = 3, kIn = 8, kHidden = 6, kClasses = 4;

struct Model {
  std::vector<u64> w1, b1, w2, b2;  // fixed point, f = 16
};

Model random_model() {
  const FixedPoint fp(kF);
  Model md;
  auto fill = [&](std::vector<u64>& v, std::size_t n) {
    const std::vector<u64> r = random_words(n);
    for (u64 x : r) v.push_back(fp.encode((static_cast<double>(x % 2001) - 1000.0) / 1000.0));
  };
  fill(md.w1, kIn * kHidden);
  fill(md.b1, kHidden);
  fill(md.w2, kHidden * kClasses);
  fill(md.b2, kClasses);
  return md;
}

// Adds a per-column bias held by the model owner.
Shares add_bias(const Party& p, Shares y, const std::vector<u64>& bias, std::uint32_t rows) {
  if (!p.is_model_owner()) return y;
  for (std::uint32_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < bias.size(); ++j) y[r * bias.size() + j] += bias[j];
  }
  return y;
}

// The 2PC program of a two-layer MLP classifier: logits and class per row. The model owner
// passes the model; the client passes its input.
std::vector<Shares> mlp(Party& p, const Model* md, const std::vector<u64>* input) {
  const bool mo = p.is_model_owner();
  const std::span<const u64> none;
  const PrivateWeights w1 =
      share_private_weights(p, mo ? std::span<const u64>(md->w1) : none, kIn, kHidden);
  const PrivateWeights w2 =
      share_private_weights(p, mo ? std::span<const u64>(md->w2) : none, kHidden, kClasses);
  const Shares x = mo ? share_peer_input(kBatch * kIn) : share_own_input(*input);
  const Shares h = relu(p, add_bias(p, truncate(p, linear(p, w1, x, kBatch)),
                                    mo ? md->b1 : std::vector<u64>{}, kBatch));
  const Shares logits =
      add_bias(p, truncate(p, linear(p, w2, h, kBatch)), mo ? md->b2 : std::vector<u64>{}, kBatch);
  RowArgmax am = argmax_rows(p, logits, kBatch, kClasses);
  return {logits, am.indices, reveal_to_client(p, am.indices)};
}

// The plaintext fixed-point reference with the same encoding.
std::vector<u64> plain_logits(const Model& md, const std::vector<u64>& x) {
  std::vector<u64> h = plain_matmul(x, md.w1, kBatch, kIn, kHidden);
  for (std::size_t i = 0; i < h.size(); ++i) {
    const u64 v = truncate_plain(h[i], kF) + md.b1[i % kHidden];
    h[i] = as_signed(v) > 0 ? v : 0;
  }
  std::vector<u64> y = plain_matmul(h, md.w2, kBatch, kHidden, kClasses);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = truncate_plain(y[i], kF) + md.b2[i % kClasses];
  return y;
}

}  // namespace

TEST_CASE("an MLP program: recorded plan is exactly what it consumes, output matches plaintext") {
  const FixedPoint fp(kF);
  const Model md = random_model();
  std::vector<double> in(kBatch * kIn);
  const std::vector<u64> r = random_words(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<double>(r[i] % 4001) / 1000 - 2;
  const std::vector<u64> x = fp.encode(in);

  const Program program = [&](Party& p) {
    return mlp(p, p.is_model_owner() ? &md : nullptr, p.is_model_owner() ? nullptr : &x);
  };
  const RecordedProgram rec = record_program(
      Role::model_owner, [&](Party& p) { program(p); }, kF);
  const RecordedProgram rec_client = record_program(
      Role::client, [&](Party& p) { mlp(p, nullptr, &x); }, kF);
  CHECK(rec.plan == rec_client.plan);  // both roles consume the same material

  const TwoPartyRun run = run_two_party(rec.plan, program, kF);
  CHECK(run.mo.material_left == 0);
  CHECK(run.client.material_left == 0);
  // Recording predicts the real traffic.
  CHECK(run.mo.rounds == rec.rounds);
  CHECK(run.mo.bytes_sent == rec.bytes_sent);
  CHECK(run.client.bytes_sent == rec_client.bytes_sent);

  // Two truncations per logit, each exact within one ulp; the hidden layer's error goes
  // through W2 (|w| <= 1, 6 terms), so the logits are within a few ulps.
  const std::vector<u64> ref = plain_logits(md, x);
  const std::vector<u64> logits = run.opened(0);
  for (std::size_t i = 0; i < ref.size(); ++i) {
    CHECK(std::llabs(as_signed(logits[i] - ref[i])) <= 8);
  }
  const std::vector<u64> classes = run.opened(1);
  CHECK(run.mo.out[2].empty());
  CHECK(run.client.out[2] == classes);
  for (std::uint32_t row = 0; row < kBatch; ++row) {
    std::uint32_t best = 0;
    for (std::uint32_t j = 1; j < kClasses; ++j) {
      if (as_signed(logits[row * kClasses + j]) > as_signed(logits[row * kClasses + best])) {
        best = j;
      }
    }
    CHECK(classes[row] == best);
  }
}

TEST_CASE("a batch short of the recorded plan fails with a conflict naming the type") {
  const Model md = random_model();
  const std::vector<u64> x(kBatch * kIn, 0);
  const Program program = [&](Party& p) {
    return mlp(p, p.is_model_owner() ? &md : nullptr, p.is_model_owner() ? nullptr : &x);
  };
  const RecordedProgram rec = record_program(
      Role::model_owner, [&](Party& p) { program(p); }, kF);
  std::vector<material::PlanItem> items = rec.plan.items();
  // Drop one instance of the last DABIT item.
  for (auto it = items.rbegin(); it != items.rend(); ++it) {
    if (it->type.kind == material::Kind::dabit) {
      --it->count;
      break;
    }
  }
  try {
    run_two_party(material::MaterialPlan(items), program, kF);
    FAIL("the program finished on a short batch");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::conflict);
    CHECK(std::string(e.what()).find("DABIT") != std::string::npos);
  }
}
