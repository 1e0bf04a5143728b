#include "ring/fixed_point.hpp"

#include <cmath>
#include <cstdint>
#include <string>

#include "core/error.hpp"

namespace ppi {

FixedPoint::FixedPoint(int frac_bits) : frac_bits_(frac_bits) {
  if (frac_bits < 0 || frac_bits > kMaxFracBits) {
    throw Error(Errc::config, "fixed point frac_bits must be in [0, " +
                                  std::to_string(kMaxFracBits) + "], got " +
                                  std::to_string(frac_bits));
  }
  scale_ = std::ldexp(1.0, frac_bits);
}

u64 FixedPoint::encode(double x) const {
  if (!std::isfinite(x)) throw Error(Errc::invalid_argument, "cannot encode NaN or infinity");
  const double scaled = x * scale_;  // exact: multiplying by a power of two
  // Doubles near 2^62 are 1024 apart, so anything below the bound rounds to below it too.
  if (std::fabs(scaled) >= std::ldexp(1.0, kMaxMagnitudeBits)) {
    throw Error(Errc::invalid_argument, "value out of fixed point range (|x| * 2^f >= 2^62)");
  }
  return static_cast<u64>(static_cast<std::int64_t>(std::round(scaled)));
}

double FixedPoint::decode(u64 v) const {
  return static_cast<double>(static_cast<std::int64_t>(v)) / scale_;
}

std::vector<u64> FixedPoint::encode(std::span<const double> xs) const {
  std::vector<u64> out(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) out[i] = encode(xs[i]);
  return out;
}

std::vector<double> FixedPoint::decode(std::span<const u64> vs) const {
  std::vector<double> out(vs.size());
  for (std::size_t i = 0; i < vs.size(); ++i) out[i] = decode(vs[i]);
  return out;
}

u64 truncate_plain(u64 v, int f) {
  if (f < 0 || f > 63) throw Error(Errc::invalid_argument, "truncation shift must be in [0, 63]");
  // C++20 defines >> on negative signed values as an arithmetic shift.
  return static_cast<u64>(static_cast<std::int64_t>(v) >> f);
}

}  // namespace ppi
