#pragma once
// Where the online operations take their correlated randomness from: one party's share of a
// batch (BatchCursor, mpc/batch_share.hpp) or, to derive a model's plan, a recorder that hands
// out zeros and writes down what was asked (PlanRecorder, mpc/plan_recorder.hpp). A program
// run against both asks for the same material in the same order, so the plan it records is
// exactly what it consumes.
//
// All values are this party's additive shares mod 2^64 (the low 64 bits of the batch's
// arithmetic elements), boolean values are XOR shares packed 64 per u64 word.

#include <cstddef>
#include <cstdint>

#include "material/material_type.hpp"
#include "mpc/secret_words.hpp"

namespace ppi::mpc {

// A BIT_TRIPLE item holds 256 AND triples: 4 words of 64.
inline constexpr std::uint64_t kBitTripleWords = 4;

// The plan type of a demand (dimensions that the kind does not use stay 0).
inline material::MaterialType plan_type(material::Kind kind, std::uint32_t m = 0,
                                        std::uint32_t k = 0, std::uint32_t n = 0,
                                        std::uint32_t f = 0) {
  material::MaterialType t;
  t.kind = kind;
  t.m = m;
  t.k = k;
  t.n = n;
  t.f = f;
  return t;
}

// `count` elementwise triples (c = a b), or one MATRIX_TRIPLE_m_k_n: a (m x k), b (k x n),
// c (m x n), row-major.
struct Triples {
  SecretWords a, b, c;
};

// TRUNC_f: r, r_low >> f and r_msb per instance, where r_low = r mod 2^63.
struct TruncPairs {
  SecretWords r, r_low_shifted, r_msb;
};

// DABIT: the arithmetic share of bit i is arith[i]; its boolean share is bit i % 64 of
// bits[i / 64].
struct Dabits {
  SecretWords arith, bits;
};

// `words` words of AND triples: bit j of c[w] = bit j of a[w] AND bit j of b[w] (in the clear).
struct BitTriples {
  SecretWords a, b, c;
};

// WEIGHT_MASK_k_n: party 0 holds B in full, party 1 holds 0 (its share of an mo_clear
// element). A MASKED_TRIPLE is made with one particular instance (material/mask_pairing.hpp),
// and these let the source check that: `id` numbers the WEIGHT_MASK_k_n instances of its plan
// from 0 (the batch's, or the mask set's when it comes from one), `ordinal` is its place among
// all the model's masks, which tells a mask of a mask set from one of the batch.
struct WeightMask {
  std::uint32_t k = 0, n = 0;
  std::uint64_t id = 0;
  SecretWords b;
  std::uint64_t ordinal = 0;
};

// MASKED_TRIPLE_m_k_n: A (m x k) and C = A B (m x n), B of the WeightMask it was made with.
struct MaskedTriple {
  SecretWords a, c;
};

class MaterialSource {
 public:
  virtual ~MaterialSource() = default;

  // Each call takes the next instances of its type in the batch's plan order. Running out is
  // Error(conflict) naming the type; nothing is consumed by a call that fails.
  virtual Triples triples(std::size_t count) = 0;
  virtual Triples matrix_triple(std::uint32_t m, std::uint32_t k, std::uint32_t n) = 0;
  virtual TruncPairs trunc(std::uint32_t f, std::size_t count) = 0;
  virtual Dabits dabits(std::size_t count) = 0;
  // Words are taken one after another across BIT_TRIPLE items (4 words, 256 triples, each).
  virtual BitTriples bit_triples(std::size_t words) = 0;
  virtual WeightMask weight_mask(std::uint32_t k, std::uint32_t n) = 0;
  // Error(conflict) if the batch made the next MASKED_TRIPLE_m_k_n with another instance of
  // WEIGHT_MASK_k_n than `mask` (taken from this source, or from a mask set's source when the
  // batch comes with its mask plan).
  virtual MaskedTriple masked_triple(std::uint32_t m, const WeightMask& mask) = 0;
};

}  // namespace ppi::mpc
