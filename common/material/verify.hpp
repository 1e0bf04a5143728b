#pragma once
// Reconstruction of a batch from the two 2PC shares and verifiers of its relations
// (PROTOCOL.md section 3: every type comes with a verifier that checks its relation, not its
// size). For tests and audits only: opening a batch reveals every secret in it.
//
// SPDZ2k with k = 64: an element x~ in Z_2^128 stands for the value x~ mod 2^64, so relations
// (c = a b, C = A B, the bits of r, b in {0, 1}) are checked on the low 64 bits, while the MAC
// m = alpha x~ is checked on all 128 bits. Boolean material (BIT_TRIPLE, a DABIT's GF(2) bit)
// is checked on all its bits and has no MAC.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "material/layout.hpp"
#include "material/plan.hpp"
#include "ring/z2k.hpp"

namespace ppi::material {

// One value and one MAC per element. A boolean element (layout.hpp) has no MAC: its 256 bits
// are split over the two fields, bits 0-127 in `values`, bits 128-255 in `macs`.
struct OpenedBatch {
  u128 alpha = 0;
  std::vector<u128> values, macs;
};

// Combines two 2PC shares (each: a MAC key share and 32 bytes per element of the layout) per
// element domain; else Error(invalid_argument).
OpenedBatch open_batch(const BatchLayout& layout, u128 key_a, ByteView pairs_a, u128 key_b,
                       ByteView pairs_b);
// Combines the dealers' stored shares of a batch (16 bytes alpha_i, then 32 bytes per element)
// per element domain; a share of the wrong size is Error(invalid_argument).
OpenedBatch open_dealer_shares(const MaterialPlan& plan, std::span<const Bytes> shares);

struct VerifyReport {
  std::uint64_t elements_checked = 0;  // elements covered by a relation check
  std::uint64_t macs_checked = 0;      // every element but the boolean ones
  std::uint64_t boolean_elements = 0;  // GF(2) elements: no MAC
  std::uint64_t failure_count = 0;     // all failures found
  std::vector<std::string> failures;   // the first kMaxReported, described

  static constexpr std::size_t kMaxReported = 10;
  bool ok() const { return failure_count == 0; }
  void fail(std::string what);
};

// Checks every MAC and every item's relation. A MASKED_TRIPLE_m_k_n is checked against the B of
// the last WEIGHT_MASK_k_n instance before it in the plan; without one it is a failure (use the
// overload below, or verify_masked_triple with the B delivered separately). Throws
// Error(invalid_argument) if the batch does not have the plan's element count.
VerifyReport verify_batch(const MaterialPlan& plan, const OpenedBatch& batch);
// The same for a batch whose MASKED_TRIPLEs may pair with a mask set (material/mask_pairing.hpp):
// `mask_set` holds the mask set's opened values, one per element of `mask_plan` (e.g.
// open_dealer_shares(mask_plan, ...).values). The mask set's own MACs are not checked here
// (verify_batch(mask_plan, ...) does). Error(invalid_argument) if `mask_set` does not have the
// mask plan's element count or the mask plan holds anything but WEIGHT_MASKs.
VerifyReport verify_batch(const MaterialPlan& plan, const OpenedBatch& batch,
                          const MaterialPlan& mask_plan, std::span<const u128> mask_set);

// C == A B (mod 2^64) for one opened MASKED_TRIPLE instance (`values`: A then C) and an opened
// WEIGHT_MASK B of matching k x n. `label` prefixes failure messages. MACs are not checked here.
void verify_masked_triple(const MaterialType& type, std::span<const u128> values,
                          std::span<const u128> weight_mask_b, VerifyReport& report,
                          const std::string& label = "MASKED_TRIPLE");

}  // namespace ppi::material
