#include <doctest/doctest.h>

#include <span>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "gen/generate.hpp"
#include "gen/local_mesh.hpp"
#include "group_keys_fixture.hpp"
#include "material/mask_pairing.hpp"
#include "material/verify.hpp"
#include "run_members.hpp"

using namespace ppi;
using namespace std::chrono_literals;
using gen::testing::run_members;
using gen::testing::shares_of;

namespace {

// Every type, with a MASKED_TRIPLE after its WEIGHT_MASK and counts that do not divide evenly
// among the members of a sub-group.
material::MaterialPlan full_plan() {
  return material::MaterialPlan::parse(R"([
    {"type": "TRIPLE", "count": 7},
    {"type": "MATRIX_TRIPLE_3_4_5", "count": 2},
    {"type": "WEIGHT_MASK_4_5", "count": 1},
    {"type": "MASKED_TRIPLE_3_4_5", "count": 3},
    {"type": "TRUNC_16", "count": 5},
    {"type": "BIT_TRIPLE", "count": 4},
    {"type": "DABIT", "count": 9},
    {"type": "WEIGHT_MASK_2_3", "count": 2},
    {"type": "MASKED_TRIPLE_1_2_3", "count": 1}
  ])");
}

gen::GenerationContext context(std::string batch, std::string model = "model-1") {
  return {"group-a", std::move(model), std::move(batch)};
}

material::OpenedBatch open(const material::MaterialPlan& plan, const std::vector<Bytes>& s) {
  return material::open_dealer_shares(plan, s);
}

// Element index of instance `inst`, element `e` of plan item `item`.
std::uint64_t element(const material::MaterialPlan& plan, std::size_t item, std::uint64_t inst,
                      std::uint64_t e) {
  return plan.offset_of(item) + inst * material::elements_per_item(plan.items()[item].type) + e;
}

std::string report_text(const material::VerifyReport& r) {
  std::string s;
  for (const auto& f : r.failures) s += f + "\n";
  return s;
}

void expect_error(const std::function<void()>& f, Errc code) {
  try {
    f();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_MESSAGE(e.code() == code, e.what());
  }
}

}  // namespace

TEST_CASE("generated material of every type opens to valid relations and MACs") {
  const auto plan = full_plan();
  for (std::size_t n : {3u, 4u, 10u}) {
    CAPTURE(n);
    const auto keys = gen::test_fixture::make_group_keys(n);
    const auto shares = shares_of(run_members(plan, keys, context("batch-1"), 10s));
    REQUIRE(shares.size() == n);
    for (const Bytes& s : shares) CHECK(s.size() == 16 + 32 * plan.element_count());
    const auto opened = open(plan, shares);
    const auto report = material::verify_batch(plan, opened);
    CHECK_MESSAGE(report.ok(), report_text(report));
    CHECK(report.macs_checked > 0);
    CHECK(opened.alpha != 0);

    // Checked here too, independently of the verifier: a DABIT's two halves are the same bit,
    // a BIT_TRIPLE's c is a AND b on all 256 bits, a TRIPLE holds on all 128 bits.
    for (std::uint64_t i = 0; i < 9; ++i) {
      const auto e = element(plan, 6, i, 0);
      CHECK(opened.values[e] <= 1);
      CHECK(opened.values[e + 1] == opened.values[e]);
      CHECK(opened.macs[e + 1] == 0);
      CHECK(opened.macs[e] == opened.alpha * opened.values[e]);
    }
    for (std::uint64_t i = 0; i < 4; ++i) {
      const auto e = element(plan, 5, i, 0);
      CHECK(opened.values[e + 2] == (opened.values[e] & opened.values[e + 1]));
      CHECK(opened.macs[e + 2] == (opened.macs[e] & opened.macs[e + 1]));
    }
    for (std::uint64_t i = 0; i < 7; ++i) {
      const auto e = element(plan, 0, i, 0);
      CHECK(opened.values[e + 2] == opened.values[e] * opened.values[e + 1]);
    }
    for (std::uint64_t i = 0; i < 5; ++i) {
      const auto e = element(plan, 4, i, 0);
      const u64 r = static_cast<u64>(opened.values[e]);
      CHECK(opened.values[e] == u128{r});  // r is a 64-bit value built from 64 bits
      CHECK(opened.values[e + 1] == u128{(r & ~(u64{1} << 63)) >> 16});
      CHECK(opened.values[e + 2] == u128{r >> 63});
    }
  }
}

TEST_CASE("the verifier sees a corrupted share: the material is checked, not just its size") {
  const auto plan = full_plan();
  const auto keys = gen::test_fixture::make_group_keys(3);
  auto shares = shares_of(run_members(plan, keys, context("batch-x"), 10s));
  // One bit of the c of the first TRIPLE in member 1's share.
  shares[1][16 + 32 * element(plan, 0, 0, 2)] ^= 1;
  CHECK_FALSE(material::verify_batch(plan, open(plan, shares)).ok());
}

TEST_CASE("a weight mask is the same in every batch of a model and differs for another model") {
  const auto plan = full_plan();
  const auto keys = gen::test_fixture::make_group_keys(4);
  const auto b1 = open(plan, shares_of(run_members(plan, keys, context("batch-1"), 10s)));
  const auto b2 = open(plan, shares_of(run_members(plan, keys, context("batch-2"), 10s)));
  const auto other =
      open(plan, shares_of(run_members(plan, keys, context("batch-3", "model-2"), 10s)));
  CHECK(b1.alpha != b2.alpha);
  for (std::size_t item : {2u, 7u}) {
    const auto first = plan.offset_of(item), end = plan.offset_of(item + 1);
    for (auto e = first; e < end; ++e) {
      CHECK(b1.values[e] == b2.values[e]);
      CHECK(b1.macs[e] != b2.macs[e]);  // MAC'd with each batch's own alpha
      CHECK(b1.values[e] != other.values[e]);
    }
  }
  // The two masks of WEIGHT_MASK_2_3 differ from each other.
  CHECK(b1.values[element(plan, 7, 0, 0)] != b1.values[element(plan, 7, 1, 0)]);
  // Per-batch material differs between batches.
  CHECK(b1.values[element(plan, 0, 0, 0)] != b2.values[element(plan, 0, 0, 0)]);
}

TEST_CASE("a member's share alone looks random; the same batch is generated identically") {
  const auto plan = full_plan();
  const auto keys = gen::test_fixture::make_group_keys(10);
  const auto s1 = shares_of(run_members(plan, keys, context("batch-1"), 10s));
  const auto s1_again = shares_of(run_members(plan, keys, context("batch-1"), 10s));
  const auto s2 = shares_of(run_members(plan, keys, context("batch-2"), 10s));
  CHECK(s1 == s1_again);  // deterministic in the keys and the batch id: resumable
  for (std::size_t i = 0; i < 10; ++i) {
    CAPTURE(i);
    // Member 9 handles no instance of most items (sub-group 0 has 4 members), yet its share
    // is as random as the others': the ring masks cover every element.
    CHECK(s1[i] != s2[i]);
    std::size_t zero_words = 0, equal_words = 0;
    for (std::size_t w = 0; w + 16 <= s1[i].size(); w += 16) {
      const u128 a = load_u128_le(&s1[i][w]), b = load_u128_le(&s2[i][w]);
      zero_words += a == 0;
      equal_words += a == b;
    }
    CHECK(zero_words == 0);
    CHECK(equal_words == 0);
    if (i > 0) CHECK(s1[i] != s1[i - 1]);
  }
}

TEST_CASE("a member whose mesh peer never answers gets Error(unavailable)") {
  const auto plan = full_plan();
  const auto keys = gen::test_fixture::make_group_keys(4);
  // Sub-groups of 4: {0, 3}, {1}, {2}. Member 1 waits for 0 and 3; 3 never starts.
  auto results = run_members(plan, keys, context("batch-1"), 200ms, {3});
  REQUIRE(results[1].error);
  try {
    std::rethrow_exception(results[1].error);
  } catch (const Error& e) {
    CHECK(e.code() == Errc::unavailable);
    CHECK(std::string(e.what()).find("member 3") != std::string::npos);
  }
}

TEST_CASE("generation refuses bad keys, plans and contexts with invalid_argument") {
  const auto plan = full_plan();
  auto keys = gen::test_fixture::make_group_keys(3);
  gen::LocalMeshHub hub(3, 100ms);
  SUBCASE("own component key present") {
    keys[0].component_keys[0] = random_seed();
    expect_error([&] { gen::generate_batch(plan, keys[0], context("b"), hub.member(0)); },
                 Errc::invalid_argument);
  }
  SUBCASE("a component key missing") {
    keys[0].component_keys[2].reset();
    expect_error([&] { gen::generate_batch(plan, keys[0], context("b"), hub.member(0)); },
                 Errc::invalid_argument);
  }
  SUBCASE("a group of two") {
    auto two = gen::test_fixture::make_group_keys(2);
    gen::LocalMeshHub hub2(2, 100ms);
    expect_error([&] { gen::generate_batch(plan, two[0], context("b"), hub2.member(0)); },
                 Errc::invalid_argument);
  }
  SUBCASE("keys of another member than the mesh endpoint") {
    expect_error([&] { gen::generate_batch(plan, keys[1], context("b"), hub.member(0)); },
                 Errc::invalid_argument);
  }
  SUBCASE("a MASKED_TRIPLE without its WEIGHT_MASK") {
    const auto bad = material::MaterialPlan::parse(
        R"([{"type": "WEIGHT_MASK_4_4", "count": 1}, {"type": "MASKED_TRIPLE_2_4_5", "count": 1}])");
    expect_error([&] { gen::generate_batch(bad, keys[0], context("b"), hub.member(0)); },
                 Errc::invalid_argument);
  }
  SUBCASE("no batch id") {
    expect_error([&] { gen::generate_batch(plan, keys[0], context(""), hub.member(0)); },
                 Errc::invalid_argument);
  }
}

TEST_CASE("daBits and TRUNC masks are random bits, not a constant that passes the relations") {
  const auto plan = material::MaterialPlan::parse(
      R"([{"type": "DABIT", "count": 512}, {"type": "TRUNC_8", "count": 64}])");
  const auto opened = open(
      plan, shares_of(run_members(plan, gen::test_fixture::make_group_keys(5), context("b"), 10s)));
  CHECK(material::verify_batch(plan, opened).ok());
  std::size_t ones = 0;
  for (std::uint64_t i = 0; i < 512; ++i) ones += opened.values[element(plan, 0, i, 0)] == 1;
  // Binomial(512, 1/2): mean 256, standard deviation about 11.
  CHECK(ones > 180);
  CHECK(ones < 332);
  std::size_t msb = 0;
  u64 all_or = 0, all_and = ~u64{0};
  for (std::uint64_t i = 0; i < 64; ++i) {
    const u64 r = static_cast<u64>(opened.values[element(plan, 1, i, 0)]);
    msb += r >> 63;
    all_or |= r;
    all_and &= r;
  }
  CHECK(msb > 10);
  CHECK(msb < 54);
  CHECK(all_or == ~u64{0});  // every bit position is 1 somewhere
  CHECK(all_and == 0);       // and 0 somewhere
}

TEST_CASE("a product with an inner dimension beyond one GEMM block, split by rows") {
  // 2k = 1200 crosses the kernel's 1024-step block; 7 rows over 4 members of sub-group 0.
  const auto plan = material::MaterialPlan::parse(
      R"([{"type": "MATRIX_TRIPLE_7_600_9", "count": 2}, {"type": "WEIGHT_MASK_600_9", "count": 1},
          {"type": "MASKED_TRIPLE_5_600_9", "count": 1}])");
  const auto keys = gen::test_fixture::make_group_keys(10);
  const auto opened = open(plan, shares_of(run_members(plan, keys, context("b"), 20s)));
  const auto report = material::verify_batch(plan, opened);
  CHECK_MESSAGE(report.ok(), report_text(report));
}

namespace {

// Forwards to a member's endpoint, but cuts the last 16 bytes off every non-empty message:
// a peer whose messages do not match the plan.
class TruncatingMesh final : public gen::Mesh {
 public:
  explicit TruncatingMesh(gen::Mesh& inner) : inner_(inner) {}
  std::size_t parties() const override { return inner_.parties(); }
  std::size_t self() const override { return inner_.self(); }
  void send(std::size_t to, std::uint64_t tag, Bytes data) override {
    if (data.size() >= 16) data.resize(data.size() - 16);
    inner_.send(to, tag, std::move(data));
  }
  Bytes receive(std::size_t from, std::uint64_t tag) override { return inner_.receive(from, tag); }
  std::uint64_t bytes_sent() const override { return inner_.bytes_sent(); }

 private:
  gen::Mesh& inner_;
};

}  // namespace

TEST_CASE("a message that does not match the plan is Error(invalid_argument), not a share") {
  const auto plan = full_plan();
  const auto keys = gen::test_fixture::make_group_keys(3);
  gen::LocalMeshHub hub(3, 5s);
  std::vector<std::exception_ptr> errors(3);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      try {
        TruncatingMesh cut(hub.member(i));
        gen::Mesh& mesh = i == 0 ? static_cast<gen::Mesh&>(cut) : hub.member(i);
        gen::generate_batch(plan, keys[i], context("b"), mesh);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  // Member 0 sends to member 1 (the next sub-group).
  REQUIRE(errors[1]);
  expect_error([&] { std::rethrow_exception(errors[1]); }, Errc::invalid_argument);
  CHECK_FALSE(errors[2]);
}

TEST_CASE("a batch with its masks outside is made with the B that its mask set holds") {
  // A first pass: two masks of one shape used in turn and one of another, a later pass cycles.
  const auto first_pass = material::MaterialPlan::parse(R"([
    {"type": "WEIGHT_MASK_4_5", "count": 1},
    {"type": "MASKED_TRIPLE_3_4_5", "count": 1},
    {"type": "TRIPLE", "count": 5},
    {"type": "WEIGHT_MASK_2_3", "count": 1},
    {"type": "MASKED_TRIPLE_1_2_3", "count": 1},
    {"type": "WEIGHT_MASK_4_5", "count": 1},
    {"type": "MASKED_TRIPLE_2_4_5", "count": 1}
  ])");
  const auto mask_plan = material::mask_plan_of(first_pass);
  // Two passes' worth: the (4, 5) instances pair with mask-set instances 0, 1, 0, 1.
  const auto batch_plan = material::MaterialPlan::parse(R"([
    {"type": "MASKED_TRIPLE_3_4_5", "count": 1},
    {"type": "TRIPLE", "count": 5},
    {"type": "MASKED_TRIPLE_1_2_3", "count": 1},
    {"type": "MASKED_TRIPLE_2_4_5", "count": 2},
    {"type": "MASKED_TRIPLE_3_4_5", "count": 1}
  ])");
  const auto keys = gen::test_fixture::make_group_keys(4);
  const auto first = open(first_pass, shares_of(run_members(first_pass, keys, context("f"), 10s)));
  const auto masks = open(mask_plan, shares_of(run_members(mask_plan, keys, context("m"), 10s)));
  auto with_masks = context("b");
  with_masks.mask_plan = mask_plan;
  const auto batch = open(batch_plan, shares_of(run_members(batch_plan, keys, with_masks, 10s)));

  // The mask set's B is the first pass's, instance by instance.
  const std::pair<std::size_t, std::size_t> same[] = {{0, 0}, {3, 1}, {5, 2}};
  for (const auto& [in_first, in_masks] : same) {
    const auto kn = material::elements_per_item(first_pass.items()[in_first].type);
    for (std::uint64_t e = 0; e < kn; ++e) {
      CHECK(first.values[first_pass.offset_of(in_first) + e] ==
            masks.values[mask_plan.offset_of(in_masks) + e]);
    }
  }
  CHECK(material::verify_batch(mask_plan, masks).ok());
  const auto report = material::verify_batch(batch_plan, batch, mask_plan, masks.values);
  CHECK_MESSAGE(report.ok(), report_text(report));
  // C = A B with B the mask set's own: item 3's instances are the second and third (4, 5)
  // instances of the batch, so they pair with mask-set instances 1 and 0.
  const auto b0 = std::span<const u128>(masks.values).subspan(mask_plan.offset_of(0), 20);
  const auto b1 = std::span<const u128>(masks.values).subspan(mask_plan.offset_of(2), 20);
  const auto mt245 = material::parse_material_type("MASKED_TRIPLE_2_4_5");
  const auto instance = [&](std::uint64_t inst) {
    return std::span<const u128>(batch.values)
        .subspan(element(batch_plan, 3, inst, 0), material::elements_per_item(mt245));
  };
  material::VerifyReport r;
  material::verify_masked_triple(mt245, instance(0), b1, r);
  material::verify_masked_triple(mt245, instance(1), b0, r);
  CHECK(r.ok());
  material::verify_masked_triple(mt245, instance(0), b0, r, "swapped");
  CHECK_FALSE(r.ok());
  // Without its mask plan the same batch cannot be generated.
  gen::LocalMeshHub hub(4, 100ms);
  expect_error([&] { gen::generate_batch(batch_plan, keys[0], context("b"), hub.member(0)); },
               Errc::invalid_argument);
}
