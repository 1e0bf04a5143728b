#include "material/conversion.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/error.hpp"

namespace ppi::material {

namespace {

// Stream bytes are produced into a scratch buffer small enough to stay in L1/L2 while it is
// combined with the data, so each byte of data is read and written once.
constexpr std::size_t kScratchBytes = 16 * 1024;

void check_pairs(std::size_t bytes, const char* what) {
  if (bytes % kPairBytes != 0) {
    throw Error(Errc::invalid_argument,
                std::string(what) + ": pair block size is not a multiple of 32 bytes");
  }
}

// The counter block of element e's share is 2e: two stream blocks per element.
u128 first_block(std::uint64_t first_element) {
  return static_cast<u128>(first_element) * 2;
}

// memcpy loads/stores: data arrives unaligned from the network, and gcc turns these into plain
// unaligned moves. Each element is loaded before it is stored, so dst may equal a.
void sub_u128s(const std::uint8_t* a, const std::uint8_t* b, std::uint8_t* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    u128 x, y;
    std::memcpy(&x, a + 16 * i, 16);
    std::memcpy(&y, b + 16 * i, 16);
    x -= y;
    std::memcpy(dst + 16 * i, &x, 16);
  }
}
void add_u128s(std::uint8_t* acc, const std::uint8_t* b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    u128 x, y;
    std::memcpy(&x, acc + 16 * i, 16);
    std::memcpy(&y, b + 16 * i, 16);
    x += y;
    std::memcpy(acc + 16 * i, &x, 16);
  }
}

void xor_bytes(const std::uint8_t* a, const std::uint8_t* b, std::uint8_t* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    x ^= y;
    std::memcpy(dst + i, &x, 8);
  }
}

// acc = acc + b for n bytes of one domain: XOR for boolean elements, else Z_2^128 addition.
void combine_into(Domain domain, std::uint8_t* acc, const std::uint8_t* b, std::size_t n) {
  if (domain == Domain::boolean) {
    xor_bytes(acc, b, acc, n);
  } else {
    add_u128s(acc, b, n / 16);
  }
}

// The value halves (the first 16 of each 32 bytes) of n elements.
void zero_values(std::uint8_t* pairs, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) std::memset(pairs + kPairBytes * i, 0, 16);
}

void check_same_size(std::size_t a, std::size_t b, const char* what) {
  if (a != b) throw Error(Errc::invalid_argument, std::string(what) + ": the sizes differ");
}

// The stream is the client's share: it must not linger in freed memory of a dealer.
struct Scratch {
  alignas(64) std::array<std::uint8_t, kScratchBytes> bytes;
  ~Scratch() { cleanse(bytes.data(), bytes.size()); }
};

}  // namespace

void mask_pairs(const BatchLayout& layout, Prg& prg, std::uint64_t first_element, ByteView pairs,
                std::span<std::uint8_t> out) {
  check_pairs(pairs.size(), "mask_pairs");
  check_same_size(out.size(), pairs.size(), "mask_pairs");
  Scratch s;
  constexpr std::size_t kElementsPerScratch = kScratchBytes / kPairBytes;
  layout.for_each(first_element, pairs.size() / kPairBytes, [&](const Segment& seg) {
    for (std::uint64_t e = seg.first; e < seg.first + seg.count; e += kElementsPerScratch) {
      const std::size_t n = std::min<std::uint64_t>(kElementsPerScratch, seg.first + seg.count - e);
      const std::size_t off = (e - first_element) * kPairBytes, len = n * kPairBytes;
      prg.fill_bytes(first_block(e), {s.bytes.data(), len});
      const std::uint8_t* in = pairs.data() + off;
      std::uint8_t* dst = out.data() + off;
      switch (seg.domain) {
        case Domain::arithmetic:
          sub_u128s(in, s.bytes.data(), dst, len / 16);
          break;
        case Domain::boolean:
          xor_bytes(in, s.bytes.data(), dst, len);
          break;
        case Domain::mo_clear:
          // The value half stays as it is; only the MAC half is masked.
          for (std::size_t i = 0; i < n; ++i) {
            std::memmove(dst + kPairBytes * i, in + kPairBytes * i, 16);
            sub_u128s(in + kPairBytes * i + 16, s.bytes.data() + kPairBytes * i + 16,
                      dst + kPairBytes * i + 16, 1);
          }
          break;
      }
    }
  });
}

void add_pairs(const BatchLayout& layout, std::uint64_t first_element, std::span<std::uint8_t> acc,
               ByteView pairs) {
  check_pairs(pairs.size(), "add_pairs");
  check_same_size(acc.size(), pairs.size(), "add_pairs");
  layout.for_each(first_element, pairs.size() / kPairBytes, [&](const Segment& seg) {
    const std::size_t off = (seg.first - first_element) * kPairBytes, len = seg.count * kPairBytes;
    combine_into(seg.domain, acc.data() + off, pairs.data() + off, len);
  });
}

void combine_pairs(const BatchLayout& layout, std::uint64_t first_element,
                   std::span<const ByteView> parts, std::span<std::uint8_t> out) {
  if (parts.empty()) throw Error(Errc::invalid_argument, "combine_pairs: no parts");
  check_pairs(out.size(), "combine_pairs");
  for (ByteView part : parts) check_same_size(out.size(), part.size(), "combine_pairs");
  layout.for_each(first_element, out.size() / kPairBytes, [&](const Segment& seg) {
    const std::size_t off = (seg.first - first_element) * kPairBytes, len = seg.count * kPairBytes;
    // Block by block, so each block of out is written once and stays in cache while every
    // part is combined into it.
    for (std::size_t b = off; b < off + len; b += kScratchBytes) {
      const std::size_t n = std::min(kScratchBytes, off + len - b);
      std::memcpy(out.data() + b, parts[0].data() + b, n);
      for (ByteView part : parts.subspan(1))
        combine_into(seg.domain, out.data() + b, part.data() + b, n);
    }
  });
}

ClientShareExpander::ClientShareExpander(std::vector<Seed128> seeds,
                                         std::vector<u128> mac_key_masks) {
  if (seeds.empty() || seeds.size() != mac_key_masks.size()) {
    throw Error(Errc::invalid_argument,
                "ClientShareExpander: need one seed and one MAC key mask per dealer");
  }
  prgs_.reserve(seeds.size());
  for (const Seed128& s : seeds) prgs_.emplace_back(s);
  for (u128 m : mac_key_masks) mac_key_share_ += m;
  cleanse(mac_key_masks.data(), mac_key_masks.size() * sizeof(u128));
  // `seeds` is destroyed here; Seed128's destructor wipes each one.
}

ClientShareExpander::~ClientShareExpander() {
  cleanse(&mac_key_share_, sizeof(mac_key_share_));
}

void ClientShareExpander::expand(const BatchLayout& layout, std::uint64_t first_element,
                                 std::span<std::uint8_t> out_pairs) {
  check_pairs(out_pairs.size(), "ClientShareExpander::expand");
  Scratch s;
  constexpr std::size_t kElementsPerScratch = kScratchBytes / kPairBytes;
  layout.for_each(first_element, out_pairs.size() / kPairBytes, [&](const Segment& seg) {
    // Chunk by chunk, so the output chunk stays in cache while every dealer's stream is added.
    for (std::uint64_t e = seg.first; e < seg.first + seg.count; e += kElementsPerScratch) {
      const std::size_t n = std::min<std::uint64_t>(kElementsPerScratch, seg.first + seg.count - e);
      std::uint8_t* dst = out_pairs.data() + (e - first_element) * kPairBytes;
      const std::size_t len = n * kPairBytes;
      prgs_[0].fill_bytes(first_block(e), {dst, len});
      for (std::size_t i = 1; i < prgs_.size(); ++i) {
        prgs_[i].fill_bytes(first_block(e), {s.bytes.data(), len});
        if (seg.domain == Domain::boolean) {
          xor_bytes(dst, s.bytes.data(), dst, len);
        } else {
          add_u128s(dst, s.bytes.data(), len / 16);
        }
      }
      if (seg.domain == Domain::mo_clear) zero_values(dst, n);
    }
  });
}

}  // namespace ppi::material
