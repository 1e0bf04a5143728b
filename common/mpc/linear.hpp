#pragma once
// Linear layers with the model owner's private weights, by the weight mask of PROTOCOL.md
// section 6. MO knows W (k x n) and the batch's WEIGHT_MASK B (an mo_clear element: MO holds B,
// C holds 0) and sends F = W - B to C once. Each call then takes a MASKED_TRIPLE (A, C = A B),
// and only E = X - A goes over the wire, to MO alone, since C's share does not depend on E:
//   MO:  E W + [A]_MO F + [C]_MO        C:  [A]_C F + [C]_C
// which sum to (X - A) W + A (W - B) + A B = X W. C sees F (masked by B), MO sees E (masked
// by A).
//
// A mask either comes in the batch (a session's first pass takes a WEIGHT_MASK from the batch)
// or from the model's mask set, held outside every batch (docs/protocol.md 6.2): the model owner
// got B once per (model, dealer group), the client keeps F per (model, group) from the session
// that first sent it, and later sessions send nothing.
//
// Cost:
//   share_private_weights: 1 one-way message MO -> C of k n values; one WEIGHT_MASK_k_n from the
//                          batch, or none with a mask set's mask.
//   held_private_weights:  nothing sent, no material.
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
  // F = W - B (k x n), which both parties know; the client keeps it for later sessions.
  std::span<const u64> complement() const { return f_; }

 private:
  friend PrivateWeights share_private_weights(Party&, std::span<const u64>, WeightMask);
  friend PrivateWeights held_private_weights(Party&, std::span<const u64>, WeightMask, SecretWords);
  friend Shares linear(Party&, const PrivateWeights&, std::span<const u64>, std::uint32_t);

  // The model owner's: W kept, F = W - B computed, B wiped.
  static PrivateWeights model_owners(std::span<const u64> w, WeightMask mask);

  WeightMask mask_;
  SecretWords w_;  // the model owner's W; empty at the client
  SecretWords f_;  // F = W - B, known to both
};

// MO passes W (k x n, row-major); C passes an empty span. Error(invalid_argument) on a wrong
// size.
PrivateWeights share_private_weights(Party& p, std::span<const u64> w, std::uint32_t k,
                                     std::uint32_t n);
// The same with `mask` taken from a mask set (MO: with its B; C: its shape, id and ordinal,
// B empty) instead of the batch.
PrivateWeights share_private_weights(Party& p, std::span<const u64> w, WeightMask mask);
// Without a message: the client already holds F (`held_f`, k n values; the model owner passes
// none) from an earlier session with the same W and mask set; it moves into the result.
// Error(invalid_argument) on a wrong size.
PrivateWeights held_private_weights(Party& p, std::span<const u64> w, WeightMask mask,
                                    SecretWords held_f);

// X (m x k, shared) times W: the shared m x n product.
Shares linear(Party& p, const PrivateWeights& weights, std::span<const u64> x, std::uint32_t m);

}  // namespace ppi::mpc
