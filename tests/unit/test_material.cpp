// Material types, plans, the MPC-to-2PC conversion (PROTOCOL.md section 5) and the verifiers.
// The conversion is run end to end on material built here (unit_tests links no test fixture
// library): dealers' additive shares -> masked shares -> model owner's sum, client's seed
// expansion -> opened batch, which must equal the secrets and pass the verifier.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/csprng.hpp"
#include "crypto/prg.hpp"
#include "error_code.hpp"
#include "material/conversion.hpp"
#include "material/layout.hpp"
#include "material/mask_pairing.hpp"
#include "material/material_type.hpp"
#include "material/plan.hpp"
#include "material/verify.hpp"
#include "ring/z2k.hpp"

using namespace ppi;
using namespace ppi::material;

namespace {

using ppi::test::error_code;

// Secret material for a plan: random values with every relation imposed (on all 128 bits).
// m is each element's second half: its MAC, or bits 128-255 of a boolean element.
struct Secret {
  u128 alpha = 0;
  std::vector<u128> x, m;
};

void matmul(const u128* a, const u128* b, u128* c, std::size_t m, std::size_t k, std::size_t n) {
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      u128 s = 0;
      for (std::size_t l = 0; l < k; ++l) s += a[i * k + l] * b[l * n + j];
      c[i * n + j] = s;
    }
  }
}

bool is_boolean(const MaterialPlan& plan, std::size_t element) {
  std::size_t idx = 0;
  while (plan.offset_of(idx + 1) <= element) ++idx;
  const MaterialType& t = plan.items()[idx].type;
  return domain_of(t, (element - plan.offset_of(idx)) % elements_per_item(t)) == Domain::boolean;
}

// A MASKED_TRIPLE is made with the B that mask_pairing.hpp pairs it with: the batch's, or the
// mask set's (`mask_values`, one per element of `mask_plan`).
Secret make_secret(const MaterialPlan& plan, const MaterialPlan* mask_plan = nullptr,
                   const std::vector<u128>* mask_values = nullptr) {
  const MaskPairing pairing(plan, mask_plan);
  Secret s;
  s.alpha = random_u128();
  s.x.resize(plan.element_count());
  s.m.resize(plan.element_count());
  Prg(random_seed()).fill_u128(0, s.x);
  Prg(random_seed()).fill_u128(0, s.m);
  for (std::size_t idx = 0; idx < plan.items().size(); ++idx) {
    const MaterialType& t = plan.items()[idx].type;
    const std::uint64_t per = elements_per_item(t);
    for (std::uint64_t i = 0; i < plan.items()[idx].count; ++i) {
      u128* v = s.x.data() + plan.offset_of(idx) + i * per;
      u128* hi = s.m.data() + plan.offset_of(idx) + i * per;
      const std::size_t mk = std::size_t{t.m} * t.k, kn = std::size_t{t.k} * t.n;
      switch (t.kind) {
        case Kind::triple:
          v[2] = v[0] * v[1];
          break;
        case Kind::trunc:
          v[1] = (static_cast<u64>(v[0]) & ~(u64{1} << 63)) >> t.f;
          v[2] = static_cast<u64>(v[0]) >> 63;
          break;
        case Kind::dabit:
          v[0] &= 1;
          v[1] = v[0];
          hi[1] = 0;
          break;
        case Kind::bit_triple:
          v[2] = v[0] & v[1];
          hi[2] = hi[0] & hi[1];
          break;
        case Kind::matrix_triple:
          matmul(v, v + mk, v + mk + kn, t.m, t.k, t.n);
          break;
        case Kind::weight_mask:
          break;
        case Kind::masked_triple: {
          const MaskRef mask = pairing.mask_of(idx, i);
          const u128* b =
              (mask.in_mask_plan ? mask_values->data() : s.x.data()) + mask.first_element;
          matmul(v, b, v + mk, t.m, t.k, t.n);
          break;
        }
      }
    }
  }
  for (std::size_t e = 0; e < s.x.size(); ++e) {
    if (!is_boolean(plan, e)) s.m[e] = s.alpha * s.x[e];
  }
  return s;
}

// Dealer blobs (16-byte alpha_i, then pair blocks) that combine to the secret: boolean
// elements are XOR-shared, the others additively.
std::vector<Bytes> split(const MaterialPlan& plan, const Secret& s, std::size_t dealers) {
  Bytes whole(16 + 32 * s.x.size());
  store_u128_le(whole.data(), s.alpha);
  for (std::size_t e = 0; e < s.x.size(); ++e) {
    store_u128_le(&whole[16 + 32 * e], s.x[e]);
    store_u128_le(&whole[32 + 32 * e], s.m[e]);
  }
  std::vector<Bytes> shares(dealers, Bytes(whole.size()));
  shares.back() = whole;
  for (std::size_t d = 0; d + 1 < dealers; ++d) {
    random_bytes(shares[d]);
    for (std::size_t p = 0; p < whole.size(); p += 16) {
      const u128 a = load_u128_le(&shares.back()[p]), b = load_u128_le(&shares[d][p]);
      const bool boolean = p >= 16 && is_boolean(plan, (p - 16) / 32);
      store_u128_le(&shares.back()[p], boolean ? a ^ b : a - b);
    }
  }
  return shares;
}

// The model owner's and the client's 2PC shares of a batch.
struct TwoPc {
  u128 mo_key = 0, client_key = 0;
  Bytes mo_pairs, client_pairs;
};

TwoPc convert(const MaterialPlan& plan, const std::vector<Bytes>& dealer_shares) {
  const BatchLayout layout(plan);
  const std::size_t bytes = dealer_shares[0].size() - 16;
  TwoPc out;
  out.mo_pairs.assign(bytes, 0);
  std::vector<Seed128> seeds;
  std::vector<u128> masks;
  for (const Bytes& share : dealer_shares) {
    // Dealer: fresh seed and mask, masked key share and masked pairs, in two ranges to show
    // that ranges (chunks of a stream) compose.
    seeds.push_back(random_seed());
    masks.push_back(random_u128());
    Prg prg(seeds.back());
    Bytes sent(bytes);
    const std::size_t half = (bytes / 32 / 2) * 32;
    const ByteView pairs = ByteView(share).subspan(16);
    mask_pairs(layout, prg, 0, pairs.subspan(0, half), std::span(sent).subspan(0, half));
    mask_pairs(layout, prg, half / 32, pairs.subspan(half), std::span(sent).subspan(half));
    // Model owner: sums what it receives.
    out.mo_key += mask_mac_key(load_u128_le(share.data()), masks.back());
    add_pairs(layout, 0, out.mo_pairs, sent);
  }
  ClientShareExpander client(seeds, masks);
  out.client_key = client.mac_key_share();
  out.client_pairs.resize(bytes);
  client.expand(layout, 0, out.client_pairs);
  return out;
}

// Every type; the WEIGHT_MASK_2_2 between WEIGHT_MASK_3_4 and MASKED_TRIPLE_2_3_4 checks that a
// MASKED_TRIPLE is paired with the last mask of *its* dimensions.
MaterialPlan all_types_plan() {
  return MaterialPlan::parse(
      R"([{"type": "TRIPLE", "count": 300}, {"type": "MATRIX_TRIPLE_2_3_4", "count": 2},
          {"type": "TRUNC_16", "count": 40}, {"type": "DABIT", "count": 70}, {"type": "BIT_TRIPLE", "count": 9},
          {"type": "WEIGHT_MASK_3_4", "count": 1}, {"type": "WEIGHT_MASK_2_2", "count": 2},
          {"type": "MASKED_TRIPLE_2_3_4", "count": 3}, {"type": "TRUNC_62", "count": 5},
          {"type": "MASKED_TRIPLE_1_2_2", "count": 2}])");
}

// Item indices in all_types_plan after BIT_TRIPLE (item 4) was added.
constexpr std::size_t kWeightMask34 = 5, kMaskedTriple234 = 7;
constexpr std::size_t kBitTriples = 4;

struct Opened {
  MaterialPlan plan;
  Secret secret;
  OpenedBatch batch;
};

Opened opened_material() {
  MaterialPlan plan = all_types_plan();
  Secret s = make_secret(plan);
  const TwoPc two = convert(plan, split(plan, s, 3));
  OpenedBatch b =
      open_batch(BatchLayout(plan), two.client_key, two.client_pairs, two.mo_key, two.mo_pairs);
  return {plan, s, b};
}

bool mentions(const VerifyReport& r, const std::string& text) {
  for (const std::string& f : r.failures) {
    if (f.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("material types: names, round trips, elements per item") {
  struct Case {
    const char* name;
    Kind kind;
    std::uint64_t elements;
  };
  for (const Case& c :
       {Case{"TRIPLE", Kind::triple, 3},
        Case{"MATRIX_TRIPLE_128_64_512", Kind::matrix_triple, 128 * 64 + 64 * 512 + 128 * 512},
        Case{"TRUNC_1", Kind::trunc, 3}, Case{"TRUNC_62", Kind::trunc, 3},
        Case{"DABIT", Kind::dabit, 2}, Case{"BIT_TRIPLE", Kind::bit_triple, 3},
        Case{"WEIGHT_MASK_16384_16384", Kind::weight_mask, 1ULL << 28},
        Case{"MASKED_TRIPLE_7_3_65536", Kind::masked_triple, 21 + 7 * 65536},
        Case{"MATRIX_TRIPLE_65536_1_1", Kind::matrix_triple, 2 * 65536 + 1}}) {
    CAPTURE(c.name);
    const MaterialType t = parse_material_type(c.name);
    CHECK(t.kind == c.kind);
    CHECK(to_string(t) == c.name);
    CHECK(elements_per_item(t) == c.elements);
  }
  const MaterialType t = parse_material_type("MATRIX_TRIPLE_2_3_4");
  CHECK((t.m == 2 && t.k == 3 && t.n == 4));
  CHECK(parse_material_type("TRUNC_16").f == 16);
}

TEST_CASE("material types: strict parsing rejects bad names") {
  for (const char* bad : {"",
                          "triple",
                          "TRIPLE_",
                          "TRIPLE_1",
                          " TRIPLE",
                          "TRIPLE ",
                          "DABIT_1",
                          "MAC_KEY",
                          "BIT_TRIPLE_1",
                          "MATRIX_TRIPLE",
                          "MATRIX_TRIPLE_",
                          "MATRIX_TRIPLE_1_1",
                          "MATRIX_TRIPLE_1_1_1_1",
                          "MATRIX_TRIPLE_1__1",
                          "MATRIX_TRIPLE_0_1_1",
                          "MATRIX_TRIPLE_01_1_1",
                          "MATRIX_TRIPLE_+1_1_1",
                          "MATRIX_TRIPLE_1_-1_1",
                          "MATRIX_TRIPLE_1_1_1 ",
                          "MATRIX_TRIPLE_65537_1_1",
                          "MATRIX_TRIPLE_100000_1_1",
                          "MATRIX_TRIPLE_4294967297_1_1",
                          "MATRIX_TRIPLE_65536_65536_1",
                          "TRUNC_",
                          "TRUNC_0",
                          "TRUNC_63",
                          "TRUNC_016",
                          "TRUNC_1a",
                          "WEIGHT_MASK_1",
                          "WEIGHT_MASK_16384_16385",
                          "MASKED_TRIPLE_1_1",
                          "MASKED_TRIPLE_x_1_1"}) {
    CAPTURE(bad);
    CHECK(error_code([&] { parse_material_type(bad); }) == Errc::invalid_argument);
  }
  try {
    parse_material_type("MATRIX_TRIPLE_0_1_1");
    FAIL("no exception");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("\"MATRIX_TRIPLE_0_1_1\"") != std::string::npos);
  }
}

TEST_CASE("material plan: JSON round trip, offsets, canonical form") {
  const MaterialPlan plan = MaterialPlan::parse(
      R"([{"type": "TRIPLE", "count": 1000}, {"count": 2, "type": "MATRIX_TRIPLE_2_3_4"},
          {"type": "DABIT", "count": 5}])");
  REQUIRE(plan.items().size() == 3);
  CHECK(plan.items()[1].count == 2);
  CHECK(plan.offset_of(0) == 0);
  CHECK(plan.offset_of(1) == 3000);
  CHECK(plan.offset_of(2) == 3000 + 2 * 26);
  CHECK(plan.offset_of(3) == 3062);
  CHECK(plan.element_count() == 3062);
  CHECK(error_code([&] { (void)plan.offset_of(4); }) == Errc::invalid_argument);

  CHECK(plan.canonical() ==
        R"([{"count":1000,"type":"TRIPLE"},{"count":2,"type":"MATRIX_TRIPLE_2_3_4"},)"
        R"({"count":5,"type":"DABIT"}])");
  CHECK(MaterialPlan::parse(plan.canonical()) == plan);
  CHECK(MaterialPlan::from_json(plan.to_json()) == plan);
  CHECK(MaterialPlan::parse(plan.canonical()).canonical() == plan.canonical());

  // Exactly 2^32 elements is the largest plan.
  CHECK(MaterialPlan({{parse_material_type("WEIGHT_MASK_16384_16384"), 16}}).element_count() ==
        (u64{1} << 32));
}

TEST_CASE("material plan: strict JSON rejects bad plans") {
  for (const char* bad : {
           R"([])",
           R"({})",
           R"({"type": "TRIPLE", "count": 1})",
           R"("TRIPLE")",
           R"([1])",
           R"([{"type": "TRIPLE", "count": 0}])",
           R"([{"type": "TRIPLE", "count": -1}])",
           R"([{"type": "TRIPLE", "count": 1.5}])",
           R"([{"type": "TRIPLE", "count": 1.0}])",
           R"([{"type": "TRIPLE", "count": "5"}])",
           R"([{"type": "TRIPLE", "count": true}])",
           R"([{"type": "TRIPLE", "count": null}])",
           R"([{"type": "TRIPLE"}])",
           R"([{"count": 1}])",
           R"([{"type": 3, "count": 1}])",
           R"([{"type": "TRIPLE", "count": 1, "extra": 0}])",
           R"([{"type": "TRIPEL", "count": 1}])",
           R"([{"type": "TRIPLE", "count": 1}, {"type": "TRUNC_63", "count": 1}])",
           R"([{"type": "TRIPLE", "count": 2000000000}])",  // 6e9 elements > 2^32
           R"([{"type": "WEIGHT_MASK_16384_16384", "count": 18446744073709551615}])",
           R"([{"type": "WEIGHT_MASK_16384_16384", "count": 16}, {"type": "DABIT", "count": 1}])",
           R"([{"type": "TRIPLE", "count": 1})",
           R"(not json)",
       }) {
    CAPTURE(bad);
    CHECK(error_code([&] { MaterialPlan::parse(bad); }) == Errc::invalid_argument);
  }
  CHECK(error_code([] { MaterialPlan(std::vector<PlanItem>{}); }) == Errc::invalid_argument);
}

TEST_CASE("conversion end to end: the two 2PC shares open to the dealers' material") {
  const MaterialPlan plan = all_types_plan();
  for (std::size_t dealers : {2, 3, 10}) {
    CAPTURE(dealers);
    const Secret s = make_secret(plan);
    const std::vector<Bytes> shares = split(plan, s, dealers);
    const TwoPc two = convert(plan, shares);
    // Neither 2PC share alone is the material (each is masked by the other).
    CHECK(two.mo_key != s.alpha);
    CHECK(two.client_key != s.alpha);

    const OpenedBatch b =
        open_batch(BatchLayout(plan), two.mo_key, two.mo_pairs, two.client_key, two.client_pairs);
    CHECK(b.alpha == s.alpha);
    CHECK(b.values == s.x);
    CHECK(b.macs == s.m);
    CHECK(open_dealer_shares(plan, shares).values == s.x);

    const VerifyReport r = verify_batch(plan, b);
    CHECK(r.ok());
    CHECK(r.failures.empty());
    CHECK(r.elements_checked == plan.element_count());
    std::size_t with_mac = 0;
    for (std::size_t e = 0; e < s.x.size(); ++e) with_mac += is_boolean(plan, e) ? 0 : 1;
    CHECK(r.macs_checked == with_mac);
    // The weight mask is the model owner's alone: its value share is B, the client's is 0,
    // while the MAC stays shared between them.
    const std::size_t wm = plan.offset_of(kWeightMask34);
    for (std::size_t e = wm; e < wm + 12; ++e) {
      CHECK(load_u128_le(&two.mo_pairs[32 * e]) == s.x[e]);
      CHECK(load_u128_le(&two.client_pairs[32 * e]) == 0);
      CHECK(load_u128_le(&two.client_pairs[32 * e + 16]) != 0);
    }
  }
}

TEST_CASE("mask_pairs: matches the stream definition, resumes, works in place") {
  const Seed128 seed = random_seed();
  const std::size_t n = 1500;  // 48000 bytes: several scratch chunks and a partial one
  Bytes pairs(32 * n);
  random_bytes(pairs);

  Prg prg(seed);
  Bytes whole(pairs.size());
  const BatchLayout layout = BatchLayout::all_arithmetic(n);
  mask_pairs(layout, prg, 0, pairs, whole);
  // Element e is masked with R[2e] and R[2e + 1], computed here one by one.
  Prg check(seed);
  bool by_definition = true;
  for (std::size_t e = 0; e < n; ++e) {
    by_definition &= load_u128_le(&whole[32 * e]) == load_u128_le(&pairs[32 * e]) - check.at(2 * e);
    by_definition &= load_u128_le(&whole[32 * e + 16]) ==
                     load_u128_le(&pairs[32 * e + 16]) - check.at(2 * e + 1);
  }
  CHECK(by_definition);

  // A stream resumed at element 777 (odd, not at a chunk boundary) yields identical bytes.
  const std::size_t from = 777;
  Bytes part(32 * (n - from));
  Prg resumed(seed);
  mask_pairs(layout, resumed, from, ByteView(pairs).subspan(32 * from), part);
  CHECK(part == Bytes(whole.begin() + 32 * from, whole.end()));

  Bytes in_place = pairs;
  mask_pairs(layout, prg, 0, in_place, in_place);
  CHECK(in_place == whole);

  Bytes odd(31), out(31);
  CHECK(error_code([&] { mask_pairs(layout, prg, 0, odd, out); }) == Errc::invalid_argument);
  Bytes a(64), b(32);
  CHECK(error_code([&] { mask_pairs(layout, prg, 0, a, b); }) == Errc::invalid_argument);
  CHECK(error_code([&] { add_pairs(layout, 0, a, b); }) == Errc::invalid_argument);
  CHECK(error_code([&] { mask_pairs(layout, prg, n - 1, a, a); }) == Errc::invalid_argument);
}

TEST_CASE("add_pairs and mask_mac_key wrap around in Z_2^128") {
  const u128 max = ~u128{0};
  Bytes acc(32), x(32);
  store_u128_le(acc.data(), max);
  store_u128_le(acc.data() + 16, 5);
  store_u128_le(x.data(), 2);
  store_u128_le(x.data() + 16, max);
  add_pairs(BatchLayout::all_arithmetic(1), 0, acc, x);
  CHECK(load_u128_le(acc.data()) == 1);
  CHECK(load_u128_le(acc.data() + 16) == 4);
  CHECK(mask_mac_key(3, 5) == max - 1);
}

TEST_CASE("combine_pairs equals add_pairs part by part, per domain, from any element") {
  // Arithmetic triples around daBits (arithmetic + boolean) and bit triples (boolean), longer
  // than one 16 KiB block so a segment spans several.
  const BatchLayout layout(MaterialPlan::parse(
      R"([{"type": "TRIPLE", "count": 700}, {"type": "DABIT", "count": 300},
          {"type": "BIT_TRIPLE", "count": 400}, {"type": "TRIPLE", "count": 10}])"));
  const std::uint64_t first = 333, n = layout.element_count() - first;
  std::vector<Bytes> parts(4, Bytes(32 * n));
  Prg prg(random_seed());
  for (std::size_t d = 0; d < parts.size(); ++d) prg.fill_bytes(2 * d * n, parts[d]);
  Bytes expected = parts[0];
  for (std::size_t d = 1; d < parts.size(); ++d) add_pairs(layout, first, expected, parts[d]);
  const std::vector<ByteView> views(parts.begin(), parts.end());
  Bytes out(32 * n);
  combine_pairs(layout, first, views, out);
  CHECK(out == expected);
  combine_pairs(layout, first, std::span<const ByteView>(views).first(1), out);
  CHECK(out == parts[0]);

  CHECK(error_code([&] { combine_pairs(layout, first, {}, out); }) == Errc::invalid_argument);
  Bytes short_out(32 * (n - 1));
  CHECK(error_code([&] { combine_pairs(layout, first, views, short_out); }) ==
        Errc::invalid_argument);
}

TEST_CASE("ClientShareExpander: sum of the dealers' streams, any range") {
  std::vector<Seed128> seeds{random_seed(), random_seed(), random_seed()};
  const std::vector<u128> masks{random_u128(), random_u128(), random_u128()};
  std::vector<Prg> prgs;
  for (const Seed128& s : seeds) prgs.emplace_back(s);
  ClientShareExpander client(seeds, masks);
  CHECK(client.mac_key_share() == masks[0] + masks[1] + masks[2]);

  const std::size_t n = 1000, from = 333;
  Bytes all(32 * n), part(32 * (n - from));
  const BatchLayout layout = BatchLayout::all_arithmetic(n);
  client.expand(layout, 0, all);
  client.expand(layout, from, part);
  CHECK(part == Bytes(all.begin() + 32 * from, all.end()));
  bool sums = true;
  for (std::size_t j = 0; j < 2 * n; ++j) {
    sums &= load_u128_le(&all[16 * j]) == prgs[0].at(j) + prgs[1].at(j) + prgs[2].at(j);
  }
  CHECK(sums);

  CHECK(error_code([&] { ClientShareExpander({}, {}); }) == Errc::invalid_argument);
  CHECK(error_code([&] { ClientShareExpander(seeds, {1}); }) == Errc::invalid_argument);
  Bytes odd(40);
  CHECK(error_code([&] { client.expand(layout, 0, odd); }) == Errc::invalid_argument);
}

TEST_CASE("verify_batch: known answers") {
  const MaterialPlan plan({{parse_material_type("TRIPLE"), 1}});
  OpenedBatch b{7, {3, 5, 15}, {21, 35, 105}};
  CHECK(verify_batch(plan, b).ok());
  // Only the low 64 bits are the value: c = a b + 2^64 * junk passes.
  b.values[2] += u128{9} << 64;
  b.macs[2] = 7 * b.values[2];
  CHECK(verify_batch(plan, b).ok());
  b.values[2] = 16;
  b.macs[2] = 7 * 16;
  const VerifyReport r = verify_batch(plan, b);
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "item 0 (TRIPLE) instance 0"));
  CHECK(mentions(r, "c != a * b"));

  b.values.pop_back();
  CHECK(error_code([&] { verify_batch(plan, b); }) == Errc::invalid_argument);
}

TEST_CASE("verify_batch detects tampering") {
  Opened o = opened_material();
  REQUIRE(verify_batch(o.plan, o.batch).ok());
  const u64 triple_c = 2;                                       // item 0, instance 0, element c
  const u64 matrix_c = o.plan.offset_of(1) + 6 + 12 + 5;        // item 1, instance 0, C[1][1]
  const u64 trunc = o.plan.offset_of(2) + 3 * 4;                // item 2, instance 4
  const u64 dabit = o.plan.offset_of(3) + 2 * 9;                // item 3, instance 9
  const u64 bit_c = o.plan.offset_of(kBitTriples) + 3 * 5 + 2;  // BIT_TRIPLE instance 5, c
  const u64 masked_c = o.plan.offset_of(kMaskedTriple234) + 14 + 6 + 7;  // instance 1, C[1][3]

  // Change one opened value and keep its MAC consistent, so only the relation can catch it.
  auto tamper = [&](u64 e, u128 value) {
    OpenedBatch b = o.batch;
    b.values[e] = value;
    b.macs[e] = b.alpha * value;
    return verify_batch(o.plan, b);
  };

  SUBCASE("a flipped bit in a value") {
    OpenedBatch b = o.batch;
    b.values[dabit] ^= u128{1} << 100;  // a high bit: no relation sees it, the MAC does
    const VerifyReport r = verify_batch(o.plan, b);
    CHECK(r.failure_count == 1);
    CHECK(mentions(r, "item 3 (DABIT) instance 9"));
    CHECK(mentions(r, "MAC != alpha * value"));
  }
  SUBCASE("a flipped bit in a MAC") {
    OpenedBatch b = o.batch;
    b.macs[o.plan.offset_of(kWeightMask34) + 3] ^= 1;
    const VerifyReport r = verify_batch(o.plan, b);
    CHECK(r.failure_count == 1);
    CHECK(mentions(r, "item 5 (WEIGHT_MASK_3_4) instance 0"));
  }
  SUBCASE("a flipped bit in c of a triple") {
    const VerifyReport r = tamper(triple_c, o.batch.values[triple_c] ^ 1);
    CHECK(r.failure_count == 1);
    CHECK(mentions(r, "item 0 (TRIPLE) instance 0"));
  }
  SUBCASE("a flipped bit in C of a matrix triple") {
    const VerifyReport r = tamper(matrix_c, o.batch.values[matrix_c] ^ (u128{1} << 63));
    CHECK(r.failure_count == 1);
    CHECK(mentions(r, "item 1 (MATRIX_TRIPLE_2_3_4) instance 0"));
    CHECK(mentions(r, "C[1][1]"));
  }
  SUBCASE("a flipped bit in C of a masked triple") {
    const VerifyReport r = tamper(masked_c, o.batch.values[masked_c] ^ 4);
    CHECK(r.failure_count == 1);
    CHECK(mentions(r, "item 7 (MASKED_TRIPLE_2_3_4) instance 1"));
    CHECK(mentions(r, "C[1][3]"));
  }
  SUBCASE("TRUNC: r_msb, r_low >> f") {
    const u128 msb = o.batch.values[trunc + 2];
    CHECK(mentions(tamper(trunc + 2, msb ^ 1), "r_msb != bit 63 of r"));
    CHECK(mentions(tamper(trunc + 2, 2), "r_msb is not a bit"));
    CHECK(mentions(tamper(trunc + 1, o.batch.values[trunc + 1] + 1), "r_low >> f is wrong"));
    CHECK(mentions(tamper(trunc, o.batch.values[trunc] ^ (u128{1} << 63)), "r_msb != bit 63"));
  }
  SUBCASE("DABIT not a bit, or its two domains disagree") {
    CHECK(mentions(tamper(dabit, 2), "the daBit is not a bit"));
    OpenedBatch b = o.batch;
    b.values[dabit + 1] ^= 1;
    CHECK(mentions(verify_batch(o.plan, b), "the GF(2) bit differs"));
    b = o.batch;
    b.macs[dabit + 1] ^= u128{1} << 70;  // one of the boolean element's bits 128-255
    CHECK(mentions(verify_batch(o.plan, b), "the GF(2) bit differs"));
  }
  SUBCASE("BIT_TRIPLE: one of 256 AND relations broken, in either half") {
    OpenedBatch b = o.batch;
    b.values[bit_c] ^= u128{1} << 77;
    CHECK(mentions(verify_batch(o.plan, b), "item 4 (BIT_TRIPLE) instance 5"));
    b = o.batch;
    b.macs[bit_c] ^= u128{1} << 127;
    CHECK(mentions(verify_batch(o.plan, b), "c != a AND b"));
  }
  SUBCASE("a wrong alpha") {
    OpenedBatch b = o.batch;
    b.alpha ^= u128{1} << 127;
    const VerifyReport r = verify_batch(o.plan, b);
    CHECK_FALSE(r.ok());
    CHECK(r.failures.size() == VerifyReport::kMaxReported);  // reported ones are capped
    CHECK(r.failure_count > VerifyReport::kMaxReported);
  }
  SUBCASE("a bit flipped in one 2PC share before opening") {
    const std::vector<Bytes> shares = split(o.plan, o.secret, 3);
    TwoPc two = convert(o.plan, shares);
    two.mo_pairs[32 * 100 + 3] ^= 0x10;  // element 100's value, low bits
    const OpenedBatch b =
        open_batch(BatchLayout(o.plan), two.mo_key, two.mo_pairs, two.client_key, two.client_pairs);
    const VerifyReport r = verify_batch(o.plan, b);
    CHECK_FALSE(r.ok());
    CHECK(mentions(r, "item 0 (TRIPLE) instance 33"));
  }
}

TEST_CASE("MASKED_TRIPLE: needs its WEIGHT_MASK; verify_masked_triple with a separate B") {
  Opened o = opened_material();
  const MaterialType mt = parse_material_type("MASKED_TRIPLE_2_3_4");
  const std::span<const u128> values(o.batch.values);
  const auto b = values.subspan(o.plan.offset_of(kWeightMask34), 12);
  auto instance = values.subspan(o.plan.offset_of(kMaskedTriple234), 14);

  VerifyReport r;
  verify_masked_triple(mt, instance, b, r);
  CHECK(r.ok());
  std::vector<u128> wrong_b(b.begin(), b.end());
  wrong_b[0] += 1;
  verify_masked_triple(mt, instance, wrong_b, r, "separate");
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "separate"));
  CHECK(error_code([&] { verify_masked_triple(mt, instance, b.subspan(1), r); }) ==
        Errc::invalid_argument);

  // Without a WEIGHT_MASK in the plan, a MASKED_TRIPLE cannot pass.
  const MaterialPlan alone({{mt, 1}});
  OpenedBatch lone{o.batch.alpha, {instance.begin(), instance.end()}, {}};
  for (u128 v : lone.values) lone.macs.push_back(lone.alpha * v);
  const VerifyReport r2 = verify_batch(alone, lone);
  CHECK_FALSE(r2.ok());
  CHECK(mentions(r2, "no WEIGHT_MASK_3_4"));
}

TEST_CASE("open_batch rejects mismatched shares") {
  Bytes a(64), b(32), c(48);
  const BatchLayout two = BatchLayout::all_arithmetic(2);
  CHECK(error_code([&] { open_batch(two, 0, a, 0, b); }) == Errc::invalid_argument);
  CHECK(error_code([&] { open_batch(two, 0, c, 0, c); }) == Errc::invalid_argument);
  CHECK(error_code([&] {
          open_dealer_shares(all_types_plan(), {&a, 1});
        }) == Errc::invalid_argument);
}

TEST_CASE("BatchLayout: runs of one domain, clipped ranges, bounds") {
  const MaterialPlan plan = MaterialPlan::parse(
      R"([{"type": "TRIPLE", "count": 2}, {"type": "DABIT", "count": 2},
          {"type": "BIT_TRIPLE", "count": 1}, {"type": "WEIGHT_MASK_2_2", "count": 1}])");
  const BatchLayout layout(plan);
  // 6 arithmetic + (arithmetic, boolean) x 2 + 3 boolean + 4 mo_clear
  const std::vector<std::tuple<std::uint64_t, std::uint64_t, Domain>> want = {
      {0, 7, Domain::arithmetic},
      {7, 1, Domain::boolean},
      {8, 1, Domain::arithmetic},
      {9, 4, Domain::boolean},
      {13, 4, Domain::mo_clear}};
  REQUIRE(layout.segments().size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    CHECK(layout.segments()[i].first == std::get<0>(want[i]));
    CHECK(layout.segments()[i].count == std::get<1>(want[i]));
    CHECK(layout.segments()[i].domain == std::get<2>(want[i]));
  }
  CHECK(layout.element_count() == plan.element_count());
  std::vector<Segment> seen;
  layout.for_each(6, 4, [&](const Segment& s) { seen.push_back(s); });
  REQUIRE(seen.size() == 4);
  CHECK((seen[0].first == 6 && seen[0].count == 1 && seen[0].domain == Domain::arithmetic));
  CHECK((seen[1].first == 7 && seen[1].count == 1 && seen[1].domain == Domain::boolean));
  CHECK((seen[2].first == 8 && seen[2].count == 1 && seen[2].domain == Domain::arithmetic));
  CHECK((seen[3].first == 9 && seen[3].count == 1 && seen[3].domain == Domain::boolean));
  CHECK(error_code([&] { layout.for_each(10, 8, [](const Segment&) {}); }) ==
        Errc::invalid_argument);
}

namespace {

MaterialType type(const char* name) {
  return parse_material_type(name);
}

MaskRef in_plan(std::uint64_t id, std::uint64_t ordinal, std::uint64_t first) {
  return {true, id, ordinal, first};
}

MaskRef in_batch(std::uint64_t id, std::uint64_t ordinal, std::uint64_t first) {
  return {false, id, ordinal, first};
}

}  // namespace

TEST_CASE("mask pairing: the last mask before it, else the mask plan's in turn, else an error") {
  // Mask plan elements: WEIGHT_MASK_3_2 at 0 and 6, WEIGHT_MASK_2_2 at 12, WEIGHT_MASK_3_2 at 16.
  const MaterialPlan masks(
      {{type("WEIGHT_MASK_3_2"), 2}, {type("WEIGHT_MASK_2_2"), 1}, {type("WEIGHT_MASK_3_2"), 1}});
  const MaterialPlan batch({{type("MASKED_TRIPLE_4_3_2"), 2},
                            {type("TRIPLE"), 1},
                            {type("MASKED_TRIPLE_1_3_2"), 2},
                            {type("MASKED_TRIPLE_1_2_2"), 1},
                            {type("WEIGHT_MASK_2_2"), 1},
                            {type("MASKED_TRIPLE_5_2_2"), 2}});
  const MaskPairing p(batch, &masks);
  // Rule 2 counts the (3, 2) instances across both m: 0, 1, then 2 and 0 again (N = 3).
  CHECK(p.mask_of(0, 0) == in_plan(0, 0, 0));
  CHECK(p.mask_of(0, 1) == in_plan(1, 1, 6));
  CHECK(p.mask_of(2, 0) == in_plan(2, 3, 16));
  CHECK(p.mask_of(2, 1) == in_plan(0, 0, 0));
  CHECK(p.mask_of(3, 0) == in_plan(0, 2, 12));
  // The batch's own mask numbers on after the mask plan's four, and rule 1 takes precedence.
  const std::uint64_t own = batch.offset_of(4);
  CHECK(p.mask_of(4, 0) == in_batch(0, 4, own));
  CHECK(p.mask_of(5, 0) == in_batch(0, 4, own));
  CHECK(p.mask_of(5, 1) == in_batch(0, 4, own));
  CHECK(error_code([&] { p.find(1, 0); }) == Errc::invalid_argument);  // a TRIPLE
  CHECK(error_code([&] { p.find(0, 2); }) == Errc::invalid_argument);  // no instance 2
  CHECK_NOTHROW(p.require_all_paired());

  // Without the mask plan, item 0 has no mask: found missing, an error that names it.
  const MaskPairing alone(batch);
  CHECK_FALSE(alone.find(0, 0).has_value());
  CHECK(alone.mask_of(4, 0) == in_batch(0, 0, own));
  CHECK_THROWS_WITH_AS(alone.require_all_paired(),
                       doctest::Contains("plan item 0 (MASKED_TRIPLE_4_3_2)"), Error);
  CHECK(error_code([&] { alone.mask_of(3, 0); }) == Errc::invalid_argument);

  // A mask plan holds masks only.
  const MaterialPlan bad({{type("WEIGHT_MASK_3_2"), 1}, {type("TRIPLE"), 1}});
  CHECK(error_code([&] { MaskPairing(batch, &bad); }) == Errc::invalid_argument);

  // The incremental form takes nothing until asked to.
  MaskPairer pairer(&masks);
  CHECK(pairer.next(3, 2) == in_plan(0, 0, 0));
  CHECK(pairer.next(3, 2) == in_plan(0, 0, 0));
  pairer.take(3, 2, 4);
  CHECK(pairer.next(3, 2) == in_plan(1, 1, 6));
  CHECK_FALSE(pairer.next(4, 4).has_value());
}

TEST_CASE("mask pairing: a first-pass plan and its mask plan name every mask alike") {
  const MaterialPlan first({{type("WEIGHT_MASK_3_2"), 1},
                            {type("MASKED_TRIPLE_4_3_2"), 1},
                            {type("TRIPLE"), 3},
                            {type("WEIGHT_MASK_2_2"), 1},
                            {type("MASKED_TRIPLE_4_2_2"), 1},
                            {type("TRIPLE"), 1},
                            {type("WEIGHT_MASK_3_2"), 1},
                            {type("MASKED_TRIPLE_4_3_2"), 1}});
  const MaterialPlan masks = mask_plan_of(first);
  const MaterialPlan batch = batch_plan_of(first);
  CHECK(masks == MaterialPlan({{type("WEIGHT_MASK_3_2"), 1},
                               {type("WEIGHT_MASK_2_2"), 1},
                               {type("WEIGHT_MASK_3_2"), 1}}));
  CHECK(batch == MaterialPlan({{type("MASKED_TRIPLE_4_3_2"), 1},
                               {type("TRIPLE"), 3},
                               {type("MASKED_TRIPLE_4_2_2"), 1},
                               {type("TRIPLE"), 1},
                               {type("MASKED_TRIPLE_4_3_2"), 1}}));
  const MaskPairing inside(first), outside(batch, &masks);
  const std::pair<std::size_t, std::size_t> same[] = {{1, 0}, {4, 2}, {7, 4}};
  for (const auto& [in_first, in_batch_plan] : same) {
    const MaskRef a = inside.mask_of(in_first, 0), b = outside.mask_of(in_batch_plan, 0);
    CHECK(a.id == b.id);
    CHECK(a.ordinal == b.ordinal);
  }
  CHECK(outside.mask_of(4, 0).ordinal == 2);
  // Consecutive items of one type merge once the others are gone.
  CHECK(mask_plan_of(MaterialPlan(
            {{type("WEIGHT_MASK_2_2"), 1}, {type("TRIPLE"), 1}, {type("WEIGHT_MASK_2_2"), 2}})) ==
        MaterialPlan({{type("WEIGHT_MASK_2_2"), 3}}));
  CHECK(error_code([&] { mask_plan_of(batch); }) == Errc::invalid_argument);
  CHECK(error_code([&] { batch_plan_of(masks); }) == Errc::invalid_argument);
}

TEST_CASE("verify_batch with a mask set: the right B passes, swapped masks fail naming the item") {
  const MaterialPlan masks({{type("WEIGHT_MASK_3_4"), 2}, {type("WEIGHT_MASK_2_2"), 1}});
  const MaterialPlan batch(
      {{type("TRIPLE"), 2}, {type("MASKED_TRIPLE_2_3_4"), 3}, {type("MASKED_TRIPLE_1_2_2"), 1}});
  const Secret mask_set = make_secret(masks);
  const Secret s = make_secret(batch, &masks, &mask_set.x);
  const OpenedBatch opened{s.alpha, s.x, s.m};
  REQUIRE(verify_batch(masks, OpenedBatch{mask_set.alpha, mask_set.x, mask_set.m}).ok());
  const VerifyReport good = verify_batch(batch, opened, masks, mask_set.x);
  CHECK(good.ok());
  CHECK(good.elements_checked == batch.element_count());

  // The mask set's two WEIGHT_MASK_3_4 instances swapped: instances 0 and 1 (and 2, which
  // cycles back to instance 0) of item 1 no longer hold.
  std::vector<u128> swapped = mask_set.x;
  std::swap_ranges(swapped.begin(), swapped.begin() + 12, swapped.begin() + 12);
  const VerifyReport r = verify_batch(batch, opened, masks, swapped);
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "item 1 (MASKED_TRIPLE_2_3_4) instance 0"));
  CHECK(mentions(r, "item 1 (MASKED_TRIPLE_2_3_4) instance 1"));
  CHECK(mentions(r, "WEIGHT_MASK_3_4 instance 0 of the mask set"));
  CHECK_FALSE(mentions(r, "item 2"));

  // Without its mask set the batch cannot pass; a mask set of the wrong size is refused.
  CHECK(mentions(verify_batch(batch, opened), "no WEIGHT_MASK_3_4"));
  const std::span<const u128> short_set(mask_set.x.data(), mask_set.x.size() - 1);
  CHECK(error_code([&] { verify_batch(batch, opened, masks, short_set); }) ==
        Errc::invalid_argument);
}
