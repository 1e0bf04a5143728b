#include <doctest/doctest.h>

#include <exception>
#include <thread>

#include "compute/ring_kernels.hpp"
#include "core/error.hpp"
#include "material/mask_pairing.hpp"
#include "material_fixture.hpp"
#include "mpc/batch_share.hpp"
#include "mpc/linear.hpp"
#include "mpc/plan_recorder.hpp"
#include "two_party.hpp"

using namespace ppi;
using namespace ppi::mpc;
using material::Kind;
using material::MaterialPlan;

namespace {

Errc code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("no ppi::Error thrown");
  return Errc::internal;
}

// Both parties' shares of one batch, with a cursor each (no channel: the test opens by adding).
// `masks`: the mask set that the batch's MASKED_TRIPLEs pair with outside it.
struct Pair {
  explicit Pair(const MaterialPlan& plan, const ppi::test::MaskSet* masks = nullptr)
      : batch(ppi::test::make_two_party_batch(plan, 3, masks)),
        mo_share(plan, batch.model_owner.mac_key_share, batch.model_owner.elements),
        c_share(plan, batch.client.mac_key_share, batch.client.elements),
        mo(mo_share, masks ? &masks->plan : nullptr),
        c(c_share, masks ? &masks->plan : nullptr) {}
  ppi::test::TwoPartyBatch batch;
  BatchShare mo_share, c_share;
  BatchCursor mo, c;
};

std::vector<u64> sum(const SecretWords& a, const SecretWords& b) {
  return add(a, b);
}
std::vector<u64> xor_of(const SecretWords& a, const SecretWords& b) {
  std::vector<u64> z(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) z[i] = a[i] ^ b[i];
  return z;
}

}  // namespace

TEST_CASE("batch share: the element bytes must match the plan") {
  const MaterialPlan plan = MaterialPlan::parse(R"([{"type":"TRIPLE","count":2}])");
  CHECK(code_of([&] { BatchShare(plan, 0, Bytes(32 * 6 - 1)); }) == Errc::invalid_argument);
  CHECK(code_of([&] { BatchShare(plan, 0, Bytes(32 * 7)); }) == Errc::invalid_argument);
  CHECK_NOTHROW(BatchShare(plan, 0, Bytes(32 * 6)));
}

TEST_CASE("batch cursor: every type hands out shares whose sum satisfies its relation") {
  const MaterialPlan plan = MaterialPlan::parse(R"([
    {"type":"TRIPLE","count":3}, {"type":"MATRIX_TRIPLE_2_3_4","count":1},
    {"type":"TRUNC_16","count":5}, {"type":"DABIT","count":70}, {"type":"BIT_TRIPLE","count":3},
    {"type":"WEIGHT_MASK_3_2","count":1}, {"type":"MASKED_TRIPLE_4_3_2","count":2},
    {"type":"TRIPLE","count":2}])");
  Pair pr(plan);

  const Triples t0 = pr.mo.triples(5), t1 = pr.c.triples(5);  // across both TRIPLE items
  const auto a = sum(t0.a, t1.a), b = sum(t0.b, t1.b), c = sum(t0.c, t1.c);
  for (std::size_t i = 0; i < 5; ++i) CHECK(c[i] == a[i] * b[i]);

  const Triples m0 = pr.mo.matrix_triple(2, 3, 4), m1 = pr.c.matrix_triple(2, 3, 4);
  CHECK(sum(m0.c, m1.c) == mpc::test::plain_matmul(sum(m0.a, m1.a), sum(m0.b, m1.b), 2, 3, 4));

  const TruncPairs r0 = pr.mo.trunc(16, 5), r1 = pr.c.trunc(16, 5);
  const auto r = sum(r0.r, r1.r), low = sum(r0.r_low_shifted, r1.r_low_shifted),
             msb = sum(r0.r_msb, r1.r_msb);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(low[i] == (r[i] & ((u64{1} << 63) - 1)) >> 16);
    CHECK(msb[i] == r[i] >> 63);
  }

  const Dabits d0 = pr.mo.dabits(70), d1 = pr.c.dabits(70);
  const auto arith = sum(d0.arith, d1.arith);
  const auto bits = xor_of(d0.bits, d1.bits);
  REQUIRE(bits.size() == 2);
  for (std::size_t i = 0; i < 70; ++i) {
    CHECK(arith[i] == ((bits[i / 64] >> (i % 64)) & 1));
  }

  // 3 words, then 9 (which runs across the rest of item 0 into items 1 and 2).
  for (std::size_t words : {3, 9}) {
    const BitTriples b0 = pr.mo.bit_triples(words), b1 = pr.c.bit_triples(words);
    const auto ba = xor_of(b0.a, b1.a), bb = xor_of(b0.b, b1.b), bc = xor_of(b0.c, b1.c);
    for (std::size_t w = 0; w < words; ++w) CHECK(bc[w] == (ba[w] & bb[w]));
  }
  CHECK(code_of([&] { pr.mo.bit_triples(1); }) == Errc::conflict);

  const WeightMask w0 = pr.mo.weight_mask(3, 2), w1 = pr.c.weight_mask(3, 2);
  CHECK(w0.id == 0);
  CHECK(w1.b == SecretWords(6, 0));  // the client's share of an mo_clear element
  for (int i = 0; i < 2; ++i) {
    const MaskedTriple x0 = pr.mo.masked_triple(4, w0), x1 = pr.c.masked_triple(4, w1);
    CHECK(sum(x0.c, x1.c) == mpc::test::plain_matmul(sum(x0.a, x1.a), w0.b, 4, 3, 2));
  }
  CHECK(pr.mo.remaining_total() == 0);
  CHECK(pr.c.remaining_total() == 0);
}

TEST_CASE("batch cursor: running out is a conflict naming the type, and consumes nothing") {
  const MaterialPlan plan =
      MaterialPlan::parse(R"([{"type":"TRIPLE","count":4},{"type":"TRUNC_12","count":1}])");
  Pair pr(plan);
  CHECK_THROWS_WITH_AS(pr.mo.triples(5), doctest::Contains("TRIPLE"), Error);
  CHECK(code_of([&] { pr.mo.triples(5); }) == Errc::conflict);
  CHECK(pr.mo.remaining(plan.items()[0].type) == 4);
  CHECK_NOTHROW(pr.mo.triples(4));
  CHECK_THROWS_WITH_AS(pr.mo.trunc(16, 1), doctest::Contains("TRUNC_16"), Error);
  CHECK_THROWS_WITH_AS(pr.mo.matrix_triple(1, 2, 3), doctest::Contains("MATRIX_TRIPLE_1_2_3"),
                       Error);
  CHECK_THROWS_WITH_AS(pr.mo.dabits(1), doctest::Contains("DABIT"), Error);
  CHECK_NOTHROW(pr.mo.trunc(12, 1));
  CHECK(pr.mo.remaining_total() == 0);
}

TEST_CASE("batch cursor: a MASKED_TRIPLE is handed out only with the mask it was made with") {
  const MaterialPlan plan = MaterialPlan::parse(R"([
    {"type":"WEIGHT_MASK_2_2","count":2}, {"type":"MASKED_TRIPLE_1_2_2","count":1},
    {"type":"WEIGHT_MASK_2_2","count":1}, {"type":"MASKED_TRIPLE_1_2_2","count":1}])");
  Pair pr(plan);
  const WeightMask first = pr.mo.weight_mask(2, 2);
  const WeightMask second = pr.mo.weight_mask(2, 2);
  CHECK(second.id == 1);
  CHECK(code_of([&] { pr.mo.masked_triple(1, first); }) == Errc::conflict);
  CHECK_NOTHROW(pr.mo.masked_triple(1, second));
  const WeightMask third = pr.mo.weight_mask(2, 2);
  CHECK(code_of([&] { pr.mo.masked_triple(1, second); }) == Errc::conflict);
  CHECK_NOTHROW(pr.mo.masked_triple(1, third));
}

TEST_CASE("plan recorder: consecutive demands merge; bit triple words run on across items") {
  PlanRecorder rec;
  rec.triples(3);
  rec.triples(2);
  rec.bit_triples(3);  // item 1
  rec.dabits(7);
  rec.bit_triples(2);  // word 4 ends item 1, word 5 opens item 2
  rec.bit_triples(3);  // words 6..8 end item 2: nothing new
  rec.trunc(16, 4);
  rec.trunc(12, 1);
  const WeightMask w = rec.weight_mask(3, 5);
  const MaskedTriple mt = rec.masked_triple(2, w);
  CHECK(mt.a.size() == 6);
  CHECK(mt.c.size() == 10);
  rec.triples(0);
  CHECK(rec.plan() == MaterialPlan::parse(R"([
    {"type":"TRIPLE","count":5}, {"type":"BIT_TRIPLE","count":1}, {"type":"DABIT","count":7},
    {"type":"BIT_TRIPLE","count":1}, {"type":"TRUNC_16","count":4}, {"type":"TRUNC_12","count":1},
    {"type":"WEIGHT_MASK_3_5","count":1}, {"type":"MASKED_TRIPLE_2_3_5","count":1}])"));
}

TEST_CASE("plan recorder: refuses a mask used after another of its shape, and an empty plan") {
  PlanRecorder rec;
  CHECK(code_of([&] { (void)rec.plan(); }) == Errc::invalid_argument);
  const WeightMask a = rec.weight_mask(2, 2);
  const WeightMask b = rec.weight_mask(2, 2);
  CHECK(code_of([&] { rec.masked_triple(1, a); }) == Errc::invalid_argument);
  CHECK_NOTHROW(rec.masked_triple(1, b));
}

TEST_CASE("batch cursor: a batch with its masks outside takes the mask set's, in turn") {
  const MaterialPlan mask_plan = MaterialPlan::parse(
      R"([{"type":"WEIGHT_MASK_3_2","count":2}, {"type":"WEIGHT_MASK_2_4","count":1}])");
  const MaterialPlan plan = MaterialPlan::parse(R"([
    {"type":"MASKED_TRIPLE_4_3_2","count":1}, {"type":"TRIPLE","count":1},
    {"type":"MASKED_TRIPLE_4_2_4","count":1}, {"type":"MASKED_TRIPLE_1_3_2","count":2},
    {"type":"MASKED_TRIPLE_4_3_2","count":1}])");
  Pair set(mask_plan);
  const ppi::test::MaskSet masks = ppi::test::mask_set_of(mask_plan, set.batch);
  Pair pr(plan, &masks);
  const WeightMask a0 = set.mo.weight_mask(3, 2), a1 = set.c.weight_mask(3, 2);
  const WeightMask b0 = set.mo.weight_mask(3, 2), b1 = set.c.weight_mask(3, 2);
  const WeightMask v0 = set.mo.weight_mask(2, 4), v1 = set.c.weight_mask(2, 4);
  CHECK(b0.id == 1);
  CHECK(v0.ordinal == 2);
  const auto check = [&](std::uint32_t m, const WeightMask& w0, const WeightMask& w1) {
    const MaskedTriple x0 = pr.mo.masked_triple(m, w0), x1 = pr.c.masked_triple(m, w1);
    CHECK(sum(x0.c, x1.c) == mpc::test::plain_matmul(sum(x0.a, x1.a), w0.b, m, w0.k, w0.n));
  };

  // The first (3, 2) instance pairs with the mask set's instance 0, not 1: refused, nothing
  // taken.
  const material::MaterialType first = plan.items()[0].type;
  CHECK_THROWS_WITH_AS(pr.mo.masked_triple(4, b0), doctest::Contains("instance 0 of the mask set"),
                       Error);
  CHECK(code_of([&] { pr.mo.masked_triple(4, b0); }) == Errc::conflict);
  // The right id with another ordinal is another mask (one of a batch, say).
  WeightMask forged = a0;
  forged.ordinal = 7;
  CHECK(code_of([&] { pr.mo.masked_triple(4, forged); }) == Errc::conflict);
  CHECK(pr.mo.remaining(first) == 2);
  check(4, a0, a1);
  CHECK_NOTHROW(pr.mo.triples(1));
  CHECK_NOTHROW(pr.c.triples(1));
  check(4, v0, v1);
  // Across m, the (3, 2) instances go on in turn: 1, then 0 again, then 1.
  check(1, b0, b1);
  CHECK(code_of([&] { pr.mo.masked_triple(1, b0); }) == Errc::conflict);
  check(1, a0, a1);
  check(4, b0, b1);
  CHECK(pr.mo.remaining_total() == 0);

  // The same batch without its mask plan pairs nothing.
  const BatchCursor alone(pr.mo_share);
  BatchCursor lone(pr.mo_share);
  CHECK_THROWS_WITH_AS(lone.masked_triple(4, a0), doctest::Contains("no WEIGHT_MASK before it"),
                       Error);
  CHECK(alone.remaining(first) == 2);
}

namespace {

// A party's material: weight masks from the mask set's cursor, the rest from the batch's.
class MaskSetSource final : public MaterialSource {
 public:
  MaskSetSource(MaterialSource& masks, MaterialSource& batch) : masks_(masks), batch_(batch) {}
  Triples triples(std::size_t count) override { return batch_.triples(count); }
  Triples matrix_triple(std::uint32_t m, std::uint32_t k, std::uint32_t n) override {
    return batch_.matrix_triple(m, k, n);
  }
  TruncPairs trunc(std::uint32_t f, std::size_t count) override { return batch_.trunc(f, count); }
  Dabits dabits(std::size_t count) override { return batch_.dabits(count); }
  BitTriples bit_triples(std::size_t words) override { return batch_.bit_triples(words); }
  WeightMask weight_mask(std::uint32_t k, std::uint32_t n) override {
    return masks_.weight_mask(k, n);
  }
  MaskedTriple masked_triple(std::uint32_t m, const WeightMask& mask) override {
    return batch_.masked_triple(m, mask);
  }

 private:
  MaterialSource &masks_, &batch_;
};

// Two weights of one shape and one of another, and the inputs of `passes` passes.
struct LinearModel {
  static constexpr std::uint32_t m = 3;
  struct Weight {
    std::uint32_t k, n;
    std::vector<u64> w;
  };
  std::vector<Weight> weights;
  std::vector<mpc::test::Split> inputs;  // per pass and weight

  explicit LinearModel(std::size_t passes) {
    for (const auto& [k, n] : {std::pair{4u, 2u}, std::pair{3u, 5u}, std::pair{4u, 2u}}) {
      weights.push_back({k, n, mpc::test::random_words(std::size_t{k} * n)});
    }
    for (std::size_t p = 0; p < passes; ++p) {
      for (const Weight& w : weights) {
        inputs.push_back(mpc::test::split(mpc::test::random_words(std::size_t{m} * w.k)));
      }
    }
  }
  // The setup: every weight shared once, in order.
  std::vector<PrivateWeights> setup(Party& p) const {
    std::vector<PrivateWeights> out;
    for (const Weight& w : weights) {
      out.push_back(share_private_weights(
          p, p.is_model_owner() ? std::span<const u64>(w.w) : std::span<const u64>{}, w.k, w.n));
    }
    return out;
  }
  // Every pass uses every weight once, in setup order (`order` permutes them).
  std::vector<Shares> passes(Party& p, const std::vector<PrivateWeights>& pw,
                             const std::vector<std::size_t>& order = {0, 1, 2}) const {
    std::vector<Shares> out;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const std::size_t w = order[i % weights.size()];
      out.push_back(linear(p, pw[w], mpc::test::mine(p, inputs[i]), m));
    }
    return out;
  }
  // A session's first pass: each weight shared when first used (so its mask is inside).
  void first_pass(Party& p) const {
    for (std::size_t w = 0; w < weights.size(); ++w) {
      const Weight& x = weights[w];
      const PrivateWeights pw = share_private_weights(
          p, p.is_model_owner() ? std::span<const u64>(x.w) : std::span<const u64>{}, x.k, x.n);
      (void)linear(p, pw, mpc::test::mine(p, inputs[w]), m);
    }
  }
};

}  // namespace

TEST_CASE("linear layers: masks from a mask set, masked triples from a batch, X W exactly") {
  const LinearModel model(2);
  std::vector<PrivateWeights> held;
  const auto record_later = [&](const LinearModel& lm, const std::vector<std::size_t>& order) {
    return record_program(
        Role::model_owner, [&](Party& p) { (void)lm.passes(p, held, order); }, kDefaultFracBits,
        kMaxMagnitudeBits, [&](Party& p) { held = lm.setup(p); });
  };
  // Recorded: a first pass (masks inside) splits into the mask plan and the batch plan of a
  // later pass, whose masks are the setup's.
  LinearModel one(1);
  one.weights = model.weights;
  const RecordedProgram first =
      record_program(Role::model_owner, [&](Party& p) { one.first_pass(p); });
  const RecordedProgram later_one = record_later(one, {0, 1, 2});
  REQUIRE(later_one.mask_plan.has_value());
  CHECK(*later_one.mask_plan == material::mask_plan_of(first.plan));
  CHECK(later_one.plan == material::batch_plan_of(first.plan));
  // A later pass that uses the setup's masks out of order is refused while recording.
  CHECK(code_of([&] { record_later(one, {2, 1, 0}); }) == Errc::invalid_argument);
  const RecordedProgram later = record_later(model, {0, 1, 2});

  // Run: the setup takes its masks from the mask set, both passes from the batch.
  const MaterialPlan& mask_plan = *later.mask_plan;
  ppi::test::TwoPartyBatch set = ppi::test::make_two_party_batch(mask_plan);
  const ppi::test::MaskSet masks = ppi::test::mask_set_of(mask_plan, set);
  ppi::test::TwoPartyBatch batch = ppi::test::make_two_party_batch(later.plan, 3, &masks);
  auto [c0, c1] = make_local_channel_pair();
  std::vector<Shares> out[2];
  std::uint64_t left[2] = {1, 1};
  std::exception_ptr errors[2];
  const auto party = [&](Role role, ppi::test::PartyShare& set_share,
                         ppi::test::PartyShare& batch_share, std::unique_ptr<Channel> channel) {
    const int i = role == Role::model_owner ? 0 : 1;
    try {
      const BatchShare s(mask_plan, set_share.mac_key_share, set_share.elements);
      const BatchShare b(later.plan, batch_share.mac_key_share, batch_share.elements);
      BatchCursor set_cursor(s), batch_cursor(b, &mask_plan);
      MaskSetSource source(set_cursor, batch_cursor);
      auto kernels = compute::make_cpu_kernels();
      Party p(role, *channel, source, *kernels);
      const std::vector<PrivateWeights> pw = model.setup(p);
      out[i] = model.passes(p, pw);
      left[i] = set_cursor.remaining_total() + batch_cursor.remaining_total();
    } catch (...) {
      errors[i] = std::current_exception();
    }
    channel.reset();
  };
  std::thread client(party, Role::client, std::ref(set.client), std::ref(batch.client),
                     std::move(c1));
  party(Role::model_owner, set.model_owner, batch.model_owner, std::move(c0));
  client.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  REQUIRE(out[0].size() == 6);
  for (std::size_t i = 0; i < 6; ++i) {
    CAPTURE(i);
    const LinearModel::Weight& w = model.weights[i % 3];
    const mpc::test::Split& x = model.inputs[i];
    CHECK(add(out[0][i], out[1][i]) ==
          mpc::test::plain_matmul(add(x.mo, x.client), w.w, LinearModel::m, w.k, w.n));
  }
  CHECK(left[0] == 0);
  CHECK(left[1] == 0);
}
