#include "gen/share_buffer.hpp"

#include "gen/big_buffer.hpp"

#include <algorithm>
#include <vector>

namespace ppi::gen {

namespace {

constexpr std::uint64_t kChunk = 4096;  // elements per mask chunk (2 x 128 KiB of stream)

}  // namespace

ShareBuffer::ShareBuffer(std::uint64_t elements) {
  resize_big(bytes_, 16 + 32 * elements);
}

Bytes ShareBuffer::finish(const Session& session, const Domain& domain,
                          const material::BatchLayout& layout) {
  Prg next = session.ring_next().stream(domain.bytes());
  Prg prev = session.ring_prev().stream(domain.bytes());
  // Stream block 0 masks alpha_i, blocks 2 + 2e and 3 + 2e element e.
  store_u128_le(bytes_.data(), load_u128_le(bytes_.data()) + next.at(0) - prev.at(0));
  std::vector<u128> mn(2 * kChunk), mp(2 * kChunk);
  for (const material::Segment& seg : layout.segments()) {
    for (std::uint64_t first = seg.first; first < seg.first + seg.count; first += kChunk) {
      const std::uint64_t count = std::min(kChunk, seg.first + seg.count - first);
      const std::span<u128> a(mn.data(), 2 * count), b(mp.data(), 2 * count);
      next.fill_u128(2 + 2 * u128{first}, a);
      prev.fill_u128(2 + 2 * u128{first}, b);
      std::uint8_t* p = at(first);
      if (seg.domain == material::Domain::boolean) {
        for (std::uint64_t i = 0; i < 2 * count; ++i, p += 16) {
          store_u128_le(p, load_u128_le(p) ^ a[i] ^ b[i]);
        }
      } else {
        for (std::uint64_t i = 0; i < 2 * count; ++i, p += 16) {
          store_u128_le(p, load_u128_le(p) + a[i] - b[i]);
        }
      }
    }
  }
  cleanse(mn.data(), mn.size() * sizeof(u128));
  cleanse(mp.data(), mp.size() * sizeof(u128));
  Bytes out = std::move(bytes_);
  bytes_ = Bytes();
  return out;
}

}  // namespace ppi::gen
