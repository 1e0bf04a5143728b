#pragma once
// Linear layers with the model owner's private weights, by the weight mask of PROTOCOL.md
// section 6. MO knows W (k x n) and the batch's WEIGHT_MASK B (an mo_clear element: MO holds B,
// C holds 0) and sends F = W - B to C once. Each call then takes a MASKED_TRIPLE (A, C = A B),
// and only E = X - A goes over the wire, to MO alone, since C's share does not depend on E:
//   MO:  E W + [A]_MO F + [C]_MO        C:  [A]_C F + [C]_C
// which sum to (X - A) W + A (W - B) + A B = X W. C sees F (masked by B), MO sees E (masked
// by A).
//
// Cost:
//   share_private_weights: 1 one-way message MO -> C of k n values; one WEIGHT_MASK_k_n.
//   linear (X of m x k):   1 one-way message C -> MO of m k values; one MASKED_TRIPLE_m_k_n;
//                          two GEMMs at MO, one at C.
// Exact in Z_2^64; the fixed-point result carries 2f fractional bits (truncate after).

#include <cstdint>
#include <span>

#include "mpc/arith.hpp"

namespace ppi::mpc {

class PrivateWeights {
 public:
  std::uint32_t k() const { return mask_.k; }
  std::uint32_t n() const { return mask_.n; }
  // The mask's shape and id; its B is wiped once F is computed.
  const WeightMask& mask() const { return mask_; }

 private:
  friend PrivateWeights share_private_weights(Party&, std::span<const u64>, std::uint32_t,
                                              std::uint32_t);
  friend Shares linear(Party&, const PrivateWeights&, std::span<const u64>, std::uint32_t);

  WeightMask mask_;
  SecretWords w_;  // the model owner's W; empty at the client
  SecretWords f_;  // F = W - B, known to both
};

// MO passes W (k x n, row-major); C passes an empty span. Error(invalid_argument) on a wrong
// size.
PrivateWeights share_private_weights(Party& p, std::span<const u64> w, std::uint32_t k,
                                     std::uint32_t n);

// X (m x k, shared) times W: the shared m x n product.
Shares linear(Party& p, const PrivateWeights& weights, std::span<const u64> x, std::uint32_t m);

}  // namespace ppi::mpc
