#pragma once
// This member's share of a batch in the dealer storage layout (docs/material-layout.md):
// 16 bytes alpha_i, then 32 bytes per element. Item generators write the values of the
// instances this member handles; finish() then masks every element, handled or not, with the
// member's ring zero sharing (session.hpp), so that each member's share is pseudo-random on
// its own while the shares still sum (or XOR) to the material.

#include <cstdint>

#include "core/bytes.hpp"
#include "gen/session.hpp"
#include "material/layout.hpp"
#include "ring/z2k.hpp"

namespace ppi::gen {

class ShareBuffer {
 public:
  explicit ShareBuffer(std::uint64_t elements);
  ~ShareBuffer() { cleanse(bytes_); }
  ShareBuffer(const ShareBuffer&) = delete;
  ShareBuffer& operator=(const ShareBuffer&) = delete;

  void set_alpha(u128 alpha_share) { store_u128_le(bytes_.data(), alpha_share); }
  // Arithmetic or mo_clear element: (x~ share, MAC share).
  void put(std::uint64_t element, u128 value, u128 mac) {
    std::uint8_t* p = at(element);
    store_u128_le(p, value);
    store_u128_le(p + 16, mac);
  }
  // Boolean element: words 0-1 then 2-3, as two little-endian u128.
  void put_bits(std::uint64_t element, u128 low, u128 high) { put(element, low, high); }

  // Adds (arithmetic) or XORs (boolean) the ring masks of `domain` into every element and
  // the MAC key share, then hands the bytes over.
  Bytes finish(const Session& session, const Domain& domain, const material::BatchLayout& layout);

 private:
  std::uint8_t* at(std::uint64_t element) { return bytes_.data() + 16 + 32 * element; }
  Bytes bytes_;
};

}  // namespace ppi::gen
