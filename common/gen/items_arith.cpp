// TRIPLE, MATRIX_TRIPLE, WEIGHT_MASK and MASKED_TRIPLE (docs/generation.md): random
// replicated sharings, products into additive sub-group shares, one resharing of the product
// so that its MAC can be formed, MACs as products with the replicated MAC key.

#include <memory>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "gen/gemm128.hpp"
#include "gen/item_generators.hpp"
#include "material/material_type.hpp"

namespace ppi::gen {

namespace {

constexpr std::uint64_t kChunk = 4096;  // elementwise instances per pass over the vectors

// Wipes a vector of secrets when it goes away, whatever path leaves the scope.
struct Secret {
  BigVector<u128> v;
  explicit Secret(std::size_t n = 0) { resize_big(v, n); }
  ~Secret() { cleanse(v.data(), v.size() * sizeof(u128)); }
};

void cleanse_components(Components& c) {
  cleanse(c.c1.data(), c.c1.size() * sizeof(u128));
  cleanse(c.c2.data(), c.c2.size() * sizeof(u128));
}

// d += Z1 - Z2 with Z the pseudo-random sharing of `zero_domain`: sub-group h adds
// Z_{h+1} - Z_{h+2}, which sums to zero over h. The member of sub-group h + 1 that receives
// d lacks Z_{h+1}, so d tells it nothing about the terms it could not compute itself.
void add_zero_share(const Session& s, const Domain& zero_domain, u128 first, std::span<u128> d) {
  Components z;
  z.resize(d.size());
  fill_random(s, zero_domain, first, z);
  for (std::size_t i = 0; i < d.size(); ++i) d[i] += z.c1[i] - z.c2[i];
  cleanse_components(z);
}

// The MAC shares of C after its resharing: C's components are (received, own).
void put_resharedproduct_macs(BatchContext& b, std::span<const u128> received,
                              std::span<const u128> own, std::uint64_t first, std::uint64_t stride,
                              std::uint64_t width) {
  std::vector<u128> mac(own.size());
  mul_scalar_local(b.alpha1, b.alpha2, received, own, mac);
  for (std::size_t i = 0; i < own.size(); ++i) {
    b.out.put(first + (i / width) * stride + i % width, own[i], mac[i]);
  }
  cleanse(mac.data(), mac.size() * sizeof(u128));
}

// The weight mask B of (group, model, type, ordinal): long-lived, so its domain names the
// model and not the batch; every batch of the model in the group derives the same B. Rows
// [rows.lo, rows.hi) of it.
void weight_mask_components(const BatchContext& b, std::uint32_t k, std::uint32_t n,
                            std::uint64_t ordinal, Range rows, Components& out) {
  Domain d("model");
  d.add(b.session.group_id()).add(b.context.model_id);
  d.add(material::to_string(material::MaterialType{material::Kind::weight_mask, 0, k, n, 0}));
  d.add(ordinal);
  out.resize(rows.size() * n);
  fill_random(b.session, d, u128{rows.lo} * n, out);
}

// The part of `rows` (units of `unit` rows per instance) that falls in instance `inst`, as
// rows within that instance.
Range rows_of(Range rows, std::uint64_t inst, std::uint64_t unit) {
  const Range r = intersect(rows, Range{inst * unit, (inst + 1) * unit});
  return r.empty() ? Range{} : Range{r.lo - inst * unit, r.hi - inst * unit};
}

// One row range of a replicated matrix, written with its MACs from element `first` on.
void put_rows(BatchContext& b, const Components& x, Range rows, std::size_t cols,
              std::uint64_t first) {
  const std::size_t lo = rows.lo * cols, count = rows.size() * cols;
  const auto c1 = std::span<const u128>(x.c1).subspan(lo, count);
  put_macd(b, c1, c1, std::span<const u128>(x.c2).subspan(lo, count), first + lo, count, count);
}

// Shared by MATRIX_TRIPLE and MASKED_TRIPLE: A random (per batch), C = A B with B's
// components from `make_b`, A and C written with their MACs after the round; `with_b` says
// whether B is part of the item (MATRIX_TRIPLE) and so written too. The work is split by
// rows, not by instances: the members of a sub-group take near-equal ranges of the rows of
// every A and C (and of every B), so that even a single large product is shared among them.
template <class MakeB>
Finisher matrix_items(BatchContext& b, const ItemRef& it, bool with_b, MakeB make_b) {
  const material::MaterialType& t = it.item->type;
  const std::size_t m = t.m, k = t.k, n = t.n;
  const std::uint64_t count = it.item->count, per = material::elements_per_item(t);
  const std::uint64_t b_off = m * k, c_off = with_b ? m * k + k * n : m * k;
  const Range rows = b.roles().my_share(count * m);  // rows of A and C
  const Range b_rows = with_b ? b.roles().my_share(count * k) : Range{};
  auto own = std::make_shared<Secret>(rows.size() * n);
  const Domain a_dom = b.batch("matrix.A", it.index), c_zero = b.batch("matrix.C.zero", it.index);
  Components a, bm;
  for (std::uint64_t inst = 0; inst < count; ++inst) {
    const Range ar = rows_of(rows, inst, m), br = rows_of(b_rows, inst, k);
    if (ar.empty() && br.empty()) continue;
    const std::uint64_t first = it.first_element + inst * per;
    make_b(inst, bm);
    if (!br.empty()) put_rows(b, bm, br, n, first + b_off);
    if (ar.empty()) continue;
    a.resize(ar.size() * k);
    fill_random(b.session, a_dom, (u128{inst} * m + ar.lo) * k, a);
    put_rows(b, a, Range{0, ar.size()}, k, first + ar.lo * k);
    const std::span<u128> c(own->v.data() + (inst * m + ar.lo - rows.lo) * n, ar.size() * n);
    // Mod 2^64 is enough: C = A B must hold on the low 64 bits (SPDZ2k, k = 64), and C's MAC
    // is formed from C~ after the resharing, so it is alpha C~ whatever C~'s high bits are.
    gemm_share(a.c1, a.c2, bm.c1, bm.c2, c, ar.size(), k, n, Modulus::two64);
    add_zero_share(b.session, c_zero, (u128{inst} * m + ar.lo) * n, c);
  }
  cleanse_components(a);
  cleanse_components(bm);
  b.exchange.post(count * m, rows, own->v, n);
  return [&b, it, own, rows, per, c_off, m, n] {
    Secret received(own->v.size());
    b.exchange.take(it.item->count * m, rows, received.v, n);
    for (std::uint64_t inst = rows.lo / m; inst * m < rows.hi; ++inst) {
      const Range r = rows_of(rows, inst, m);
      const std::size_t at = (inst * m + r.lo - rows.lo) * n, len = r.size() * n;
      put_macd(b, std::span<const u128>(own->v).subspan(at, len),
               std::span<const u128>(received.v).subspan(at, len),
               std::span<const u128>(own->v).subspan(at, len),
               it.first_element + inst * per + c_off + r.lo * n, len, len);
    }
  };
}

}  // namespace

void put_macd(BatchContext& b, std::span<const u128> value, std::span<const u128> x1,
              std::span<const u128> x2, std::uint64_t first, std::uint64_t stride,
              std::uint64_t width) {
  u128 mac[kChunk];
  for (std::size_t lo = 0; lo < value.size(); lo += kChunk) {
    const std::size_t count = std::min<std::size_t>(kChunk, value.size() - lo);
    mul_scalar_local(b.alpha1, b.alpha2, x1.subspan(lo, count), x2.subspan(lo, count),
                     std::span<u128>(mac, count));
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t at = lo + i;
      b.out.put(first + (at / width) * stride + at % width, value[at], mac[i]);
    }
  }
  cleanse(mac, sizeof(mac));
}

void put_shared(BatchContext& b, const Components& x, std::uint64_t first, std::uint64_t stride,
                std::uint64_t width) {
  put_macd(b, x.c1, x.c1, x.c2, first, stride, width);
}

Finisher generate_triples(BatchContext& b, const ItemRef& it) {
  auto own = std::make_shared<Secret>(it.mine.size());
  const Domain a_dom = b.batch("triple.a", it.index), b_dom = b.batch("triple.b", it.index);
  const Domain c_zero = b.batch("triple.c.zero", it.index);
  Components x, y;
  for (std::uint64_t lo = it.mine.lo; lo < it.mine.hi; lo += kChunk) {
    const std::uint64_t count = std::min(kChunk, it.mine.hi - lo);
    const std::uint64_t first = it.first_element + 3 * lo;
    x.resize(count);
    y.resize(count);
    fill_random(b.session, a_dom, lo, x);
    fill_random(b.session, b_dom, lo, y);
    put_shared(b, x, first, 3, 1);
    put_shared(b, y, first + 1, 3, 1);
    const std::span<u128> c(own->v.data() + (lo - it.mine.lo), count);
    mul_local(x.c1, x.c2, y.c1, y.c2, c);
    add_zero_share(b.session, c_zero, lo, c);
  }
  cleanse_components(x);
  cleanse_components(y);
  b.exchange.post(it.item->count, it.mine, own->v, 1);
  return [&b, it, own] {
    Secret received(own->v.size());
    b.exchange.take(it.item->count, it.mine, received.v, 1);
    put_resharedproduct_macs(b, received.v, own->v, it.first_element + 3 * it.mine.lo + 2, 3, 1);
  };
}

Finisher generate_matrix_triples(BatchContext& b, const ItemRef& it) {
  const material::MaterialType& t = it.item->type;
  const Domain b_dom = b.batch("matrix.B", it.index);
  return matrix_items(b, it, true, [&](std::uint64_t inst, Components& bm) {
    bm.resize(std::size_t{t.k} * t.n);
    fill_random(b.session, b_dom, u128{inst} * t.k * t.n, bm);
  });
}

Finisher generate_weight_masks(BatchContext& b, const ItemRef& it) {
  const material::MaterialType& t = it.item->type;
  const std::uint64_t per = material::elements_per_item(t);
  // Split by rows, as matrix products are.
  const Range rows = b.roles().my_share(it.item->count * t.k);
  Components bm;
  for (std::uint64_t inst = rows.lo / t.k; inst * t.k < rows.hi; ++inst) {
    const Range r = rows_of(rows, inst, t.k);
    weight_mask_components(b, t.k, t.n, b.masks.mask_of(it.index, inst).ordinal, r, bm);
    put_rows(b, bm, Range{0, r.size()}, t.n, it.first_element + inst * per + r.lo * t.n);
  }
  cleanse_components(bm);
  return {};
}

Finisher generate_masked_triples(BatchContext& b, const ItemRef& it) {
  const material::MaterialType& t = it.item->type;
  // Instances paired within the batch share one B, those paired with a mask plan cycle through
  // its masks: B's components are derived again only when the mask changes.
  std::optional<std::uint64_t> derived;
  Finisher f = matrix_items(b, it, false, [&](std::uint64_t inst, Components& bm) {
    const std::uint64_t ordinal = b.masks.mask_of(it.index, inst).ordinal;
    if (derived != ordinal) weight_mask_components(b, t.k, t.n, ordinal, Range{0, t.k}, bm);
    derived = ordinal;
  });
  return f;
}

}  // namespace ppi::gen
