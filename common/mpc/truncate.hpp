#pragma once
// Exact truncation by f bits with TRUNC_f tuples (PROTOCOL.md section 6), never local share
// truncation (SecureML), which in Z_2^64 gives a wrong high bit with probability about
// 2^(l+1-64) per value.
//
// For |x| < 2^l (l <= 62, f <= l) and a tuple (r, r_low >> f, r_msb), r uniform, r_low =
// r mod 2^63: open c = x + 2^l + r, let c_low = c mod 2^63, v = c_msb XOR r_msb, then
//   [x >> f] = (c_low >> f) - [r_low >> f] + 2^(63-f) [v] - 2^(l-f)
// which is floor(x / 2^f) or one more (floor(a) - floor(b) overshoots floor(a - b) by at most
// 1): exact within 1 ulp, always the right sign and high bits.
// c is uniform (masked by r), so opening it reveals nothing.
//
// Cost: 1 round (exchange), 8 bytes per value sent by each party; n TRUNC_f for n values.

#include <span>

#include "mpc/arith.hpp"

namespace ppi::mpc {

// With the party's frac_bits and magnitude_bits.
Shares truncate(Party& p, std::span<const u64> x);
// Error(invalid_argument) unless 1 <= f <= l <= 62.
Shares truncate(Party& p, std::span<const u64> x, int f, int l);

}  // namespace ppi::mpc
