#include "mpc/boolean.hpp"

#include <algorithm>
#include <utility>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ppi::mpc {

namespace {

std::size_t words_for(std::size_t bits) {
  return (bits + 63) / 64;
}

// A (generate, propagate) pair of a group of bit positions, bit-sliced over all values: word w,
// bit t belongs to value 64 w + t.
struct Node {
  std::vector<u64> g, p;
};

// In place: bit t of a[i] becomes bit i of a[t] (Hacker's Delight's recursive block swap,
// 6 levels of 32 word operations instead of 4096 bit moves).
void transpose64(u64 a[64]) {
  u64 m = 0x00000000FFFFFFFFull;
  for (unsigned j = 32; j != 0; j >>= 1, m ^= (m << j)) {
    for (unsigned k = 0; k < 64; k = ((k | j) + 1) & ~j) {
      const u64 t = ((a[k] >> j) ^ a[k | j]) & m;
      a[k | j] ^= t;
      a[k] ^= t << j;
    }
  }
}

// slices[i * words + w], bit t = bit i of x[64 w + t], for bit positions i < positions <= 64.
std::vector<u64> bit_slices(std::span<const u64> x, std::size_t words, unsigned positions) {
  std::vector<u64> s(positions * words);
  u64 block[64];
  for (std::size_t w = 0; w < words; ++w) {
    const std::size_t first = 64 * w, count = std::min<std::size_t>(64, x.size() - first);
    std::copy(x.begin() + static_cast<std::ptrdiff_t>(first),
              x.begin() + static_cast<std::ptrdiff_t>(first + count), block);
    std::fill(block + count, block + 64, u64{0});
    transpose64(block);
    for (unsigned i = 0; i < positions; ++i) s[i * words + w] = block[i];
  }
  cleanse(block, sizeof(block));
  return s;
}

// One tree level: adjacent nodes (lo = 2t, hi = 2t + 1) combine into
//   G = G_hi XOR (P_hi AND G_lo),  P = P_hi AND P_lo
// (XOR works as OR because a group cannot both generate and propagate a carry). The lowest
// node's P is never needed: the carry into bit 63 is the root's G alone.
std::vector<Node> combine_level(Party& p, std::vector<Node> nodes, std::size_t words) {
  const std::size_t pairs = nodes.size() / 2;
  std::vector<u64> x, y;
  x.reserve((2 * pairs) * words);
  y.reserve((2 * pairs) * words);
  for (std::size_t t = 0; t < pairs; ++t) {
    const Node &lo = nodes[2 * t], &hi = nodes[2 * t + 1];
    x.insert(x.end(), hi.p.begin(), hi.p.end());
    y.insert(y.end(), lo.g.begin(), lo.g.end());
    if (t > 0) {
      x.insert(x.end(), hi.p.begin(), hi.p.end());
      y.insert(y.end(), lo.p.begin(), lo.p.end());
    }
  }
  const std::vector<u64> z = and_words(p, x, y);
  std::vector<Node> next;
  next.reserve(pairs + nodes.size() % 2);
  std::size_t at = 0;
  for (std::size_t t = 0; t < pairs; ++t) {
    Node n;
    n.g = std::move(nodes[2 * t + 1].g);
    for (std::size_t w = 0; w < words; ++w) n.g[w] ^= z[at + w];
    at += words;
    if (t > 0) {
      n.p.assign(z.begin() + static_cast<std::ptrdiff_t>(at),
                 z.begin() + static_cast<std::ptrdiff_t>(at + words));
      at += words;
    }
    next.push_back(std::move(n));
  }
  if (nodes.size() % 2) next.push_back(std::move(nodes.back()));
  return next;
}

}  // namespace

std::vector<u64> and_words(Party& p, std::span<const u64> x, std::span<const u64> y,
                           Piggyback* extra) {
  check_same_size(x.size(), y.size(), "and_words");
  const std::size_t n = x.size();
  const std::size_t extra_n = extra ? extra->mine.size() : 0;
  BitTriples t = p.material().bit_triples(n);
  std::vector<u64> msg(2 * n + extra_n);
  for (std::size_t i = 0; i < n; ++i) {
    msg[i] = x[i] ^ t.a[i];
    msg[n + i] = y[i] ^ t.b[i];
  }
  if (extra) std::copy(extra->mine.begin(), extra->mine.end(), msg.begin() + 2 * n);
  std::vector<u64> peer = p.channel().exchange(msg);
  std::vector<u64> z(n);
  for (std::size_t i = 0; i < n; ++i) {
    const u64 d = msg[i] ^ peer[i];
    const u64 e = msg[n + i] ^ peer[n + i];
    z[i] = t.c[i] ^ (d & t.b[i]) ^ (e & t.a[i]) ^ (p.is_model_owner() ? d & e : 0);
  }
  if (extra) extra->peer.assign(peer.begin() + 2 * n, peer.end());
  return z;
}

unsigned msb_and_gates(unsigned bits) {
  check_msb_width(bits);
  unsigned gates = bits - 1, nodes = bits - 1;
  for (; nodes > 1; nodes = (nodes + 1) / 2) gates += 2 * (nodes / 2) - 1;
  return gates;
}

unsigned msb_rounds(unsigned bits) {
  check_msb_width(bits);
  unsigned rounds = 1;
  for (unsigned nodes = bits - 1; nodes > 1; nodes = (nodes + 1) / 2) ++rounds;
  return rounds;
}

void check_msb_width(unsigned bits) {
  if (bits < 2 || bits > 64) throw Error(Errc::invalid_argument, "msb_bits needs 2 <= bits <= 64");
}

BitShares msb_bits(Party& p, std::span<const u64> x, Piggyback* extra) {
  return msb_bits(p, x, 64, extra);
}

BitShares msb_bits(Party& p, std::span<const u64> x, unsigned bits, Piggyback* extra) {
  check_msb_width(bits);
  // Bits 0 .. bits - 2 produce the carry into the sign bit bits - 1.
  const unsigned carry_bits = bits - 1;
  const std::size_t words = words_for(x.size());
  const std::vector<u64> slices = bit_slices(x, words, bits);
  // Party 0's share is one addend, party 1's the other: as XOR sharings, (x0, 0) and (0, x1).
  // g_i = x0_i AND x1_i, p_i = x0_i XOR x1_i (each party's own bit is its XOR share of p_i).
  const std::span<const u64> own(slices.data(), carry_bits * words);
  const std::vector<u64> none(own.size(), 0);
  const bool first = p.is_model_owner();
  const std::vector<u64> g = and_words(p, first ? own : std::span<const u64>(none),
                                       first ? std::span<const u64>(none) : own, extra);
  std::vector<Node> nodes(carry_bits);
  for (unsigned i = 0; i < carry_bits; ++i) {
    const auto at = static_cast<std::ptrdiff_t>(i * words);
    nodes[i].g.assign(g.begin() + at, g.begin() + at + static_cast<std::ptrdiff_t>(words));
    if (i > 0)
      nodes[i].p.assign(own.begin() + at, own.begin() + at + static_cast<std::ptrdiff_t>(words));
  }
  while (nodes.size() > 1) nodes = combine_level(p, std::move(nodes), words);

  BitShares msb{std::move(nodes.front().g), x.size()};
  for (std::size_t w = 0; w < words; ++w) msb.words[w] ^= slices[carry_bits * words + w];
  return msb;
}

Shares b2a(Party& p, const BitShares& bits) {
  const std::size_t n = bits.count;
  check_same_size(bits.words.size(), words_for(n), "b2a: words against bit count");
  Dabits d = p.material().dabits(n);
  std::vector<u64> c(bits.words.size());
  for (std::size_t w = 0; w < c.size(); ++w) c[w] = bits.words[w] ^ d.bits[w];
  const std::vector<u64> peer = p.channel().exchange(c);
  Shares out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const bool ci = ((c[i / 64] ^ peer[i / 64]) >> (i % 64)) & 1;
    // b = c XOR r = c + r - 2 c r: r when c = 0, 1 - r when c = 1.
    out[i] = ci ? (p.is_model_owner() ? 1 : 0) - d.arith[i] : d.arith[i];
  }
  return out;
}

BitShares flip(const Party& p, BitShares bits) {
  if (p.is_model_owner()) {
    for (u64& w : bits.words) w = ~w;
  }
  return bits;
}

}  // namespace ppi::mpc
