#include "material/verify.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "material/conversion.hpp"
#include "material/layout.hpp"
#include "material/mask_pairing.hpp"

namespace ppi::material {

namespace {

u64 lo(u128 v) {
  return static_cast<u64>(v);
}

// `where()` describes the instance; it is called only on a failure, so a plain lambda (no
// allocation) keeps the per-instance cost to the checks themselves.
// C == A B mod 2^64 for row-major A (m x k), B (k x n), C (m x n); one row of A B at a time.
template <class Where>
void check_product(std::span<const u128> a, std::span<const u128> b, std::span<const u128> c,
                   std::size_t m, std::size_t k, std::size_t n, VerifyReport& report,
                   const Where& where) {
  std::vector<u64> row(n);
  for (std::size_t i = 0; i < m; ++i) {
    std::fill(row.begin(), row.end(), 0);
    for (std::size_t l = 0; l < k; ++l) {
      const u64 x = lo(a[i * k + l]);
      const u128* b_row = b.data() + l * n;
      for (std::size_t j = 0; j < n; ++j) row[j] += x * lo(b_row[j]);
    }
    for (std::size_t j = 0; j < n; ++j) {
      if (lo(c[i * n + j]) != row[j]) {
        report.fail(where() + ": C[" + std::to_string(i) + "][" + std::to_string(j) +
                    "] != (A B)[" + std::to_string(i) + "][" + std::to_string(j) + "] mod 2^64");
      }
    }
  }
}

template <class Where>
void check_masked(const MaterialType& t, std::span<const u128> v, std::span<const u128> b,
                  VerifyReport& report, const Where& where) {
  const std::size_t mk = std::size_t{t.m} * t.k;
  check_product(v.subspan(0, mk), b, v.subspan(mk), t.m, t.k, t.n, report, where);
}

}  // namespace

void VerifyReport::fail(std::string what) {
  ++failure_count;
  if (failures.size() < kMaxReported) failures.push_back(std::move(what));
}

namespace {

// Starts from the first share's pairs and combines the others in, per element domain; the
// combined bytes are wiped once they are split into values and MACs.
OpenedBatch combine(const BatchLayout& layout, u128 alpha, std::span<const ByteView> pairs) {
  Bytes sum(pairs[0].size());
  combine_pairs(layout, 0, pairs, sum);
  OpenedBatch out;
  out.alpha = alpha;
  const std::size_t n = sum.size() / 32;
  out.values.resize(n);
  out.macs.resize(n);
  for (std::size_t e = 0; e < n; ++e) {
    out.values[e] = load_u128_le(&sum[32 * e]);
    out.macs[e] = load_u128_le(&sum[32 * e + 16]);
  }
  cleanse(sum);
  return out;
}

}  // namespace

OpenedBatch open_dealer_shares(const MaterialPlan& plan, std::span<const Bytes> shares) {
  const BatchLayout layout(plan);
  const std::size_t bytes = 16 + 32 * layout.element_count();
  if (shares.empty()) throw Error(Errc::invalid_argument, "open_dealer_shares: no shares");
  u128 alpha = 0;
  std::vector<ByteView> pairs;
  for (const Bytes& share : shares) {
    if (share.size() != bytes) {
      throw Error(Errc::invalid_argument, "open_dealer_shares: a share has " +
                                              std::to_string(share.size()) +
                                              " bytes, the plan needs " + std::to_string(bytes));
    }
    alpha += load_u128_le(share.data());
    pairs.push_back(ByteView(share).subspan(16));
  }
  return combine(layout, alpha, pairs);
}

OpenedBatch open_batch(const BatchLayout& layout, u128 key_a, ByteView pairs_a, u128 key_b,
                       ByteView pairs_b) {
  if (pairs_a.size() != pairs_b.size() || pairs_a.size() != 32 * layout.element_count()) {
    throw Error(Errc::invalid_argument,
                "open_batch: the two shares need 32 bytes per element of the batch each");
  }
  const ByteView pairs[] = {pairs_a, pairs_b};
  return combine(layout, key_a + key_b, pairs);
}

namespace {

VerifyReport verify(const MaterialPlan& plan, const OpenedBatch& batch,
                    const MaterialPlan* mask_plan, std::span<const u128> mask_set) {
  if (batch.values.size() != plan.element_count() || batch.macs.size() != batch.values.size()) {
    throw Error(Errc::invalid_argument,
                "verify_batch: the batch has " + std::to_string(batch.values.size()) +
                    " elements, the plan " + std::to_string(plan.element_count()));
  }
  if (mask_plan != nullptr && mask_set.size() != mask_plan->element_count()) {
    throw Error(Errc::invalid_argument, "verify_batch: the mask set has " +
                                            std::to_string(mask_set.size()) + " values, its plan " +
                                            std::to_string(mask_plan->element_count()));
  }
  VerifyReport report;
  const std::span<const u128> values(batch.values), macs(batch.macs);
  const MaskPairing masks(plan, mask_plan);

  for (std::size_t idx = 0; idx < plan.items().size(); ++idx) {
    const PlanItem& item = plan.items()[idx];
    const MaterialType& t = item.type;
    const std::uint64_t per = elements_per_item(t);
    for (std::uint64_t inst = 0; inst < item.count; ++inst) {
      const std::uint64_t base = plan.offset_of(idx) + inst * per;
      const auto v = values.subspan(base, per);
      const auto where = [&] {
        return "item " + std::to_string(idx) + " (" + to_string(t) + ") instance " +
               std::to_string(inst) + " (batch element " + std::to_string(base) + ")";
      };
      for (std::uint64_t e = 0; e < per; ++e) {
        if (domain_of(t, e) == Domain::boolean) {  // GF(2) material carries no MAC
          ++report.boolean_elements;
          continue;
        }
        if (macs[base + e] != batch.alpha * v[e]) {
          report.fail(where() + ": element " + std::to_string(e) + " MAC != alpha * value");
        }
        ++report.macs_checked;
      }
      report.elements_checked += per;

      switch (t.kind) {
        case Kind::triple:
          if (lo(v[2]) != lo(v[0]) * lo(v[1])) report.fail(where() + ": c != a * b mod 2^64");
          break;
        case Kind::trunc: {
          const u64 r = lo(v[0]);
          const u64 r_low = r & ((u64{1} << 63) - 1);
          if (lo(v[1]) != r_low >> t.f) report.fail(where() + ": r_low >> f is wrong");
          if (lo(v[2]) > 1) {
            report.fail(where() + ": r_msb is not a bit");
          } else if (lo(v[2]) != r >> 63) {
            report.fail(where() + ": r_msb != bit 63 of r");
          }
          break;
        }
        case Kind::dabit:
          if (lo(v[0]) > 1) {
            report.fail(where() + ": the daBit is not a bit");
          } else if (v[1] != u128{lo(v[0])} || macs[base + 1] != 0) {
            // The boolean element: bit 0 is b, the other 255 bits are 0.
            report.fail(where() + ": the GF(2) bit differs from the arithmetic one");
          }
          break;
        case Kind::bit_triple:
          // Each element's 256 bits sit in its value (bits 0-127) and MAC (bits 128-255) halves.
          if ((v[0] & v[1]) != v[2] || (macs[base] & macs[base + 1]) != macs[base + 2]) {
            report.fail(where() + ": c != a AND b");
          }
          break;
        case Kind::matrix_triple: {
          const std::size_t mk = std::size_t{t.m} * t.k, kn = std::size_t{t.k} * t.n;
          check_product(v.subspan(0, mk), v.subspan(mk, kn), v.subspan(mk + kn), t.m, t.k, t.n,
                        report, where);
          break;
        }
        case Kind::weight_mask:  // uniform B: no relation beyond its MACs
          break;
        case Kind::masked_triple: {
          const auto mask = masks.find(idx, inst);
          if (!mask) {
            report.fail(where() + ": no WEIGHT_MASK_" + std::to_string(t.k) + "_" +
                        std::to_string(t.n) + " before it in the plan to check against");
          } else {
            const std::span<const u128> from = mask->in_mask_plan ? mask_set : values;
            const auto paired = [&] {
              return where() + " with WEIGHT_MASK_" + std::to_string(t.k) + "_" +
                     std::to_string(t.n) + " instance " + std::to_string(mask->id) + " of the " +
                     (mask->in_mask_plan ? "mask set" : "batch");
            };
            check_masked(t, v, from.subspan(mask->first_element, std::size_t{t.k} * t.n), report,
                         paired);
          }
          break;
        }
      }
    }
  }
  return report;
}

}  // namespace

VerifyReport verify_batch(const MaterialPlan& plan, const OpenedBatch& batch) {
  return verify(plan, batch, nullptr, {});
}

VerifyReport verify_batch(const MaterialPlan& plan, const OpenedBatch& batch,
                          const MaterialPlan& mask_plan, std::span<const u128> mask_set) {
  return verify(plan, batch, &mask_plan, mask_set);
}

void verify_masked_triple(const MaterialType& type, std::span<const u128> values,
                          std::span<const u128> weight_mask_b, VerifyReport& report,
                          const std::string& label) {
  if (type.kind != Kind::masked_triple || values.size() != elements_per_item(type) ||
      weight_mask_b.size() != std::size_t{type.k} * type.n) {
    throw Error(Errc::invalid_argument,
                "verify_masked_triple: needs a MASKED_TRIPLE instance and a matching B");
  }
  check_masked(type, values, weight_mask_b, report, [&] { return label; });
  report.elements_checked += values.size();
}

}  // namespace ppi::material
