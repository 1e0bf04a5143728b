#pragma once
// Fixed-point encoding of reals into Z_2^64 (PROTOCOL.md section 2): x is represented by the
// two's complement of round(x * 2^f). Products carry 2f fractional bits and are truncated by f
// (exactly, in MPC, section 6); truncate_plain is the plaintext reference of that step.

#include <span>
#include <vector>

#include "ring/z2k.hpp"

namespace ppi {

class FixedPoint {
 public:
  static constexpr int kMaxFracBits = 40;
  // |x| * 2^f must stay below 2^62: the exact truncation of section 6 needs |x| < 2^l with
  // l <= 62, so encoded inputs leave that headroom.
  static constexpr int kMaxMagnitudeBits = 62;

  // Throws Error(config) unless 0 <= frac_bits <= kMaxFracBits.
  explicit FixedPoint(int frac_bits);

  // Round to nearest (ties away from zero). Throws Error(invalid_argument) for NaN, infinities
  // and |x| * 2^f >= 2^62.
  u64 encode(double x) const;
  // The signed value divided by 2^f (exact when it fits the 53-bit mantissa of a double).
  double decode(u64 v) const;
  int frac_bits() const { return frac_bits_; }

  std::vector<u64> encode(std::span<const double> xs) const;
  std::vector<double> decode(std::span<const u64> vs) const;

 private:
  int frac_bits_;
  double scale_;  // 2^frac_bits
};

// Arithmetic shift right of v read as a signed 64-bit value: floor(v / 2^f) in two's
// complement. Throws Error(invalid_argument) unless 0 <= f <= 63.
u64 truncate_plain(u64 v, int f);

}  // namespace ppi
