#include "crypto/prg.hpp"

#include <array>

namespace ppi {

namespace {
std::array<std::uint8_t, 16> counter_block(u128 j) {
  std::array<std::uint8_t, 16> b;
  for (int i = 15; i >= 0; --i, j >>= 8)
    b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(j);
  return b;
}
}  // namespace

Prg::Prg(const Seed128& seed) : aes_(seed.bytes, counter_block(0)) {}

void Prg::fill_bytes(u128 first_block, std::span<std::uint8_t> out) {
  // One seek per call; the keystream then goes straight into `out` (see AesCtr::keystream).
  aes_.set_iv(counter_block(first_block));
  aes_.keystream(out);
}

void Prg::fill_u128(u128 first_index, std::span<u128> out) {
  // The host is little-endian (checked in z2k.cpp), so the bytes of block j already are the
  // in-memory representation of LE128(block j).
  fill_bytes(first_index, {reinterpret_cast<std::uint8_t*>(out.data()), out.size_bytes()});
}

u128 Prg::at(u128 index) {
  u128 v;
  fill_u128(index, {&v, 1});
  return v;
}

}  // namespace ppi
