// TEST FIXTURE: a trusted dealer for tests only; see material_fixture.hpp.
#include "material_fixture.hpp"

#include <algorithm>
#include <cstring>
#include <span>
#include <string>

#include "core/error.hpp"
#include "crypto/csprng.hpp"
#include "crypto/prg.hpp"
#include "material/conversion.hpp"
#include "material/layout.hpp"
#include "material/mask_pairing.hpp"
#include "material/verify.hpp"

namespace ppi::test {

using material::Kind;
using material::MaterialType;

namespace {

constexpr std::size_t kBufPairs = 4096;

// C = A B on all 128 bits (the low 64 bits, which verify_batch checks, follow).
void matmul(std::span<const u128> a, std::span<const u128> b, std::span<u128> c, std::size_t m,
            std::size_t k, std::size_t n) {
  std::fill(c.begin(), c.end(), 0);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t l = 0; l < k; ++l) {
      const u128 x = a[i * k + l];
      for (std::size_t j = 0; j < n; ++j) c[i * n + j] += x * b[l * n + j];
    }
  }
}

// Turns uniform random values into material of the plan, in place. x holds each element's
// value (bits 0-127 of a boolean element), hi bits 128-255 of boolean elements.
void impose_relations(const material::MaterialPlan& plan, std::vector<u128>& x,
                      std::vector<u128>& hi, const MaskSet* mask_set) {
  const material::MaskPairing masks(plan, mask_set ? &mask_set->plan : nullptr);
  if (mask_set && mask_set->values.size() != mask_set->plan.element_count()) {
    throw Error(Errc::invalid_argument,
                "make_fixture_batch: the mask set's values do not match "
                "its plan");
  }
  for (std::size_t idx = 0; idx < plan.items().size(); ++idx) {
    const material::PlanItem& item = plan.items()[idx];
    const MaterialType& t = item.type;
    const std::uint64_t per = material::elements_per_item(t);
    const std::size_t mk = std::size_t{t.m} * t.k, kn = std::size_t{t.k} * t.n;
    for (std::uint64_t inst = 0; inst < item.count; ++inst) {
      const std::uint64_t base = plan.offset_of(idx) + inst * per;
      const std::span<u128> v(x.data() + base, per);
      switch (t.kind) {
        case Kind::triple:
          v[2] = v[0] * v[1];
          break;
        case Kind::trunc: {
          const u64 r = static_cast<u64>(v[0]);
          v[1] = (r & ((u64{1} << 63) - 1)) >> t.f;
          v[2] = r >> 63;
          break;
        }
        case Kind::dabit:
          v[0] &= 1;
          v[1] = v[0];
          hi[base + 1] = 0;
          break;
        case Kind::bit_triple:
          v[2] = v[0] & v[1];
          hi[base + 2] = hi[base] & hi[base + 1];
          break;
        case Kind::matrix_triple:
          matmul(v.subspan(0, mk), v.subspan(mk, kn), v.subspan(mk + kn), t.m, t.k, t.n);
          break;
        case Kind::weight_mask:
          break;
        case Kind::masked_triple: {
          const material::MaskRef mask = masks.mask_of(idx, inst);
          const u128* b = mask.in_mask_plan ? mask_set->values.data() : x.data();
          matmul(v.subspan(0, mk), std::span<const u128>(b + mask.first_element, kn), v.subspan(mk),
                 t.m, t.k, t.n);
          break;
        }
      }
    }
  }
}

}  // namespace

FixtureBatch make_fixture_batch(const material::MaterialPlan& plan, std::size_t dealers,
                                const MaskSet* masks) {
  if (dealers == 0) throw Error(Errc::invalid_argument, "make_fixture_batch: no dealers");
  const std::uint64_t count = plan.element_count();

  // Values: uniform in Z_2^128 from a CSPRNG-seeded PRG, then the relations imposed.
  std::vector<u128> x(count), hi(count);
  Prg(random_seed()).fill_u128(0, x);
  Prg(random_seed()).fill_u128(0, hi);
  impose_relations(plan, x, hi, masks);
  const material::BatchLayout layout(plan);

  FixtureBatch out;
  out.alpha = random_u128();
  const std::size_t blob = 16 + 32 * count;
  out.dealer_shares.reserve(dealers);
  for (std::size_t d = 0; d < dealers; ++d) out.dealer_shares.emplace_back(blob);

  // The last dealer starts with the secrets, then every other dealer's uniformly random share
  // is taken out of it (subtracted, or XORed for boolean elements): the shares combine to the
  // secrets and any n - 1 of them are uniform. The blobs are u128 arrays in little-endian
  // (host) order, handled through memcpy, which compiles to plain loads and stores.
  Bytes& last = out.dealer_shares.back();
  std::vector<u128> buf(2 * kBufPairs);
  std::memcpy(last.data(), &out.alpha, 16);
  layout.for_each(0, count, [&](const material::Segment& seg) {
    for (std::uint64_t e = seg.first; e < seg.first + seg.count; e += kBufPairs) {
      const std::size_t n = std::min<std::uint64_t>(kBufPairs, seg.first + seg.count - e);
      for (std::size_t i = 0; i < n; ++i) {
        buf[2 * i] = x[e + i];
        buf[2 * i + 1] = seg.domain == material::Domain::boolean ? hi[e + i] : out.alpha * x[e + i];
      }
      std::memcpy(&last[16 + 32 * e], buf.data(), 32 * n);
    }
  });
  cleanse(x.data(), x.size() * sizeof(u128));
  cleanse(hi.data(), hi.size() * sizeof(u128));
  const auto take_out = [&last](const Bytes& share, std::size_t from, std::size_t to, bool xor_) {
    for (std::size_t p = from; p < to; p += 16) {
      u128 a, b;
      std::memcpy(&a, &last[p], 16);
      std::memcpy(&b, &share[p], 16);
      a = xor_ ? a ^ b : a - b;
      std::memcpy(&last[p], &a, 16);
    }
  };
  for (std::size_t d = 0; d + 1 < dealers; ++d) {
    Bytes& share = out.dealer_shares[d];
    Prg(random_seed()).fill_bytes(0, share);
    take_out(share, 0, 16, false);
    layout.for_each(0, count, [&](const material::Segment& seg) {
      take_out(share, 16 + 32 * seg.first, 16 + 32 * (seg.first + seg.count),
               seg.domain == material::Domain::boolean);
    });
  }
  cleanse(buf.data(), buf.size() * sizeof(u128));
  return out;
}

MaskSet mask_set_of(const material::MaterialPlan& mask_plan, const FixtureBatch& batch) {
  return {mask_plan, material::open_dealer_shares(mask_plan, batch.dealer_shares).values};
}

MaskSet mask_set_of(const material::MaterialPlan& mask_plan, const TwoPartyBatch& batch) {
  const material::BatchLayout layout(mask_plan);
  return {mask_plan,
          material::open_batch(layout, batch.model_owner.mac_key_share, batch.model_owner.elements,
                               batch.client.mac_key_share, batch.client.elements)
              .values};
}

TwoPartyBatch make_two_party_batch(const material::MaterialPlan& plan, std::size_t dealers,
                                   const MaskSet* mask_set) {
  FixtureBatch batch = make_fixture_batch(plan, dealers, mask_set);
  const material::BatchLayout layout(plan);
  const std::size_t bytes = 32 * plan.element_count();
  TwoPartyBatch out;
  out.alpha = batch.alpha;
  out.model_owner.elements.resize(bytes);
  out.client.elements.resize(bytes);
  std::vector<Seed128> seeds;
  std::vector<u128> masks;
  for (std::size_t d = 0; d < dealers; ++d) {
    // What dealer d sends: its masked key share, then its masked pairs.
    seeds.push_back(random_seed());
    masks.push_back(random_u128());
    const ByteView share(batch.dealer_shares[d]);
    Prg prg(seeds.back());
    Bytes sent(bytes);
    material::mask_pairs(layout, prg, 0, share.subspan(16), sent);
    out.model_owner.mac_key_share +=
        material::mask_mac_key(load_u128_le(share.data()), masks.back());
    if (d == 0) {
      out.model_owner.elements = std::move(sent);
    } else {
      material::add_pairs(layout, 0, out.model_owner.elements, sent);
    }
  }
  material::ClientShareExpander expander(std::move(seeds), std::move(masks));
  out.client.mac_key_share = expander.mac_key_share();
  expander.expand(layout, 0, out.client.elements);
  return out;
}

}  // namespace ppi::test
