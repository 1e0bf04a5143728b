#include "mpc/truncate.hpp"

#include "core/error.hpp"

namespace ppi::mpc {

Shares truncate(Party& p, std::span<const u64> x) {
  return truncate(p, x, p.frac_bits(), p.magnitude_bits());
}

Shares truncate(Party& p, std::span<const u64> x, int f, int l) {
  if (f < 1 || f > l || l > kMaxMagnitudeBits) {
    throw Error(Errc::invalid_argument, "truncate needs 1 <= f <= l <= 62");
  }
  const std::size_t n = x.size();
  TruncPairs t = p.material().trunc(static_cast<std::uint32_t>(f), n);
  const u64 offset = u64{1} << l;
  Shares c(n);
  for (std::size_t i = 0; i < n; ++i) {
    c[i] = x[i] + t.r[i] + (p.is_model_owner() ? offset : 0);
  }
  const std::vector<u64> peer = p.channel().exchange(c);
  constexpr u64 kLow63 = (u64{1} << 63) - 1;
  const u64 v_weight = u64{1} << (63 - f);
  const u64 bias = u64{1} << (l - f);
  Shares z(n);
  for (std::size_t i = 0; i < n; ++i) {
    const u64 opened = c[i] + peer[i];
    const u64 c_msb = opened >> 63;
    // v = c_msb XOR r_msb is linear in [r_msb] since c_msb is public.
    const u64 v = c_msb ? (p.is_model_owner() ? 1 : 0) - t.r_msb[i] : t.r_msb[i];
    z[i] = v_weight * v - t.r_low_shifted[i];
    if (p.is_model_owner()) z[i] += ((opened & kLow63) >> f) - bias;
  }
  return z;
}

}  // namespace ppi::mpc
