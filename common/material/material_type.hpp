#pragma once
// The material types of PROTOCOL.md section 3 and their names.
//
// A type's name carries its dimensions (`MATRIX_TRIPLE_128_64_512`). One *item* of a type is a
// fixed number of Z_2^128 elements, in this order:
//   TRIPLE                a, b, c                          (3 elements, c = a * b)
//   MATRIX_TRIPLE_m_k_n   A (m x k), B (k x n), C (m x n)  (row-major each, C = A B)
//   TRUNC_f               r, r_low >> f, r_msb             (r_low = r mod 2^63, 1 <= f <= 62)
//   DABIT                 b, b's GF(2) element             (2 elements, b in {0, 1})
//   BIT_TRIPLE            a, b, c over GF(2)               (3 boolean elements, 256 triples)
//   WEIGHT_MASK_k_n       B (k x n)
//   MASKED_TRIPLE_m_k_n   A (m x k), C (m x n)             (C = A B with the B of a WEIGHT_MASK)
// Which elements are arithmetic, known to the model owner, or boolean: material/layout.hpp and
// docs/material-layout.md. MAC_KEY is not an item type: alpha_i leads every batch stream.

#include <cstdint>
#include <string>
#include <string_view>

namespace ppi::material {

enum class Kind { triple, matrix_triple, trunc, dabit, bit_triple, weight_mask, masked_triple };

struct MaterialType {
  Kind kind = Kind::triple;
  // Matrix dimensions (MATRIX_TRIPLE, MASKED_TRIPLE: m, k, n; WEIGHT_MASK: k, n), else 0.
  std::uint32_t m = 0, k = 0, n = 0;
  std::uint32_t f = 0;  // TRUNC only

  bool operator==(const MaterialType&) const = default;
};

// Bounds of a type name: each dimension in [1, kMaxDim], at most kMaxItemElements per item.
inline constexpr std::uint32_t kMaxDim = 65536;
inline constexpr std::uint64_t kMaxItemElements = std::uint64_t{1} << 28;

// Strict parser: exact upper-case names, decimal dimensions without sign or leading zeros.
// Throws Error(invalid_argument) naming the bad string.
MaterialType parse_material_type(std::string_view name);
// The canonical name; parse_material_type(to_string(t)) == t.
std::string to_string(const MaterialType& type);
std::uint64_t elements_per_item(const MaterialType& type);

}  // namespace ppi::material
