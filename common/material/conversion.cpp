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

// The stream is the client's share: it must not linger in freed memory of a dealer.
struct Scratch {
  alignas(64) std::array<std::uint8_t, kScratchBytes> bytes;
  ~Scratch() { cleanse(bytes.data(), bytes.size()); }
};

}  // namespace

void mask_pairs(Prg& prg, std::uint64_t first_element, ByteView pairs,
                std::span<std::uint8_t> out) {
  check_pairs(pairs.size(), "mask_pairs");
  if (out.size() != pairs.size()) {
    throw Error(Errc::invalid_argument, "mask_pairs: output size differs from input size");
  }
  Scratch s;
  for (std::size_t off = 0; off < pairs.size(); off += kScratchBytes) {
    const std::size_t len = std::min(kScratchBytes, pairs.size() - off);
    prg.fill_bytes(first_block(first_element) + off / 16, {s.bytes.data(), len});
    sub_u128s(pairs.data() + off, s.bytes.data(), out.data() + off, len / 16);
  }
}

void add_pairs(std::span<std::uint8_t> acc, ByteView pairs) {
  check_pairs(pairs.size(), "add_pairs");
  if (acc.size() != pairs.size()) {
    throw Error(Errc::invalid_argument, "add_pairs: the two pair blocks differ in size");
  }
  add_u128s(acc.data(), pairs.data(), acc.size() / 16);
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

void ClientShareExpander::expand(std::uint64_t first_element, std::span<std::uint8_t> out_pairs) {
  check_pairs(out_pairs.size(), "ClientShareExpander::expand");
  Scratch s;
  // Chunk by chunk, so the output chunk stays in cache while every dealer's stream is added.
  for (std::size_t off = 0; off < out_pairs.size(); off += kScratchBytes) {
    const std::size_t len = std::min(kScratchBytes, out_pairs.size() - off);
    const u128 block = first_block(first_element) + off / 16;
    prgs_[0].fill_bytes(block, out_pairs.subspan(off, len));
    for (std::size_t i = 1; i < prgs_.size(); ++i) {
      prgs_[i].fill_bytes(block, {s.bytes.data(), len});
      add_u128s(out_pairs.data() + off, s.bytes.data(), len / 16);
    }
  }
}

}  // namespace ppi::material
