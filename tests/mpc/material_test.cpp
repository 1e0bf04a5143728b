#include <doctest/doctest.h>

#include "core/error.hpp"
#include "material_fixture.hpp"
#include "mpc/batch_share.hpp"
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
struct Pair {
  explicit Pair(const MaterialPlan& plan)
      : batch(ppi::test::make_two_party_batch(plan)),
        mo_share(plan, batch.model_owner.mac_key_share, batch.model_owner.elements),
        c_share(plan, batch.client.mac_key_share, batch.client.elements),
        mo(mo_share),
        c(c_share) {}
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
