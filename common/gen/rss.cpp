#include "gen/rss.hpp"

namespace ppi::gen {

void fill_random(const Session& session, const Domain& domain, u128 first, Components& out) {
  const Roles& r = session.roles();
  session.slot_prf(r.slot1()).stream(domain.bytes()).fill_u128(first, out.c1);
  session.slot_prf(r.slot2()).stream(domain.bytes()).fill_u128(first, out.c2);
}

void mul_local(std::span<const u128> x1, std::span<const u128> x2, std::span<const u128> y1,
               std::span<const u128> y2, std::span<u128> out) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = x1[i] * (y1[i] + y2[i]) + x2[i] * y1[i];
}

void mul_scalar_local(u128 a1, u128 a2, std::span<const u128> y1, std::span<const u128> y2,
                      std::span<u128> out) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = a1 * (y1[i] + y2[i]) + a2 * y1[i];
}

void and_local(std::span<const u128> x1, std::span<const u128> x2, std::span<const u128> y1,
               std::span<const u128> y2, std::span<u128> out) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = (x1[i] & (y1[i] ^ y2[i])) ^ (x2[i] & y1[i]);
}

}  // namespace ppi::gen
