// DABIT, TRUNC and BIT_TRIPLE (docs/generation.md).
//
// A random bit b = beta_0 ^ beta_1 ^ beta_2 is a boolean replicated sharing. Sub-group 0
// knows R = beta_1 ^ beta_2, the others know beta_0, and b = beta_0 + R - 2 beta_0 R over the
// integers. Sub-group 0 reshares R (R = R_1 + R_2, R_1 pseudo-random from slot 1's key, R_2
// sent to sub-group 1) and w = alpha_1 R_2 + alpha_2 R_1 the same way (W_1, W_2); then
// b and alpha b are sums of terms each computable by one sub-group:
//   sub-group 0: b: R                    alpha b: (alpha_1 + alpha_2) R
//   sub-group 1: b: beta_0 - 2 beta_0 R_2 alpha b: (alpha_0 + alpha_2) beta_0 + alpha_0 R_2
//                                                  - 2 beta_0 (alpha_0 R_2 + alpha_2 R_2 + W_2)
//   sub-group 2: b: -2 beta_0 R_1        alpha b: alpha_1 beta_0 + alpha_0 R_1
//                                                  - 2 beta_0 (alpha_0 R_1 + alpha_1 R_1 + W_1)
// One message from sub-group 0 to sub-group 1, two Z_2^128 elements per bit.

#include <memory>
#include <vector>

#include "gen/item_generators.hpp"
#include "material/material_type.hpp"

namespace ppi::gen {

namespace {

constexpr std::uint64_t kChunkBits = 8192;

struct BitShares {
  std::vector<u128> value, mac;
  std::vector<unsigned> out_bit;  // beta of slot1: this sub-group's XOR share of b
  ~BitShares() {
    cleanse(value.data(), value.size() * sizeof(u128));
    cleanse(mac.data(), mac.size() * sizeof(u128));
    cleanse(out_bit.data(), out_bit.size() * sizeof(unsigned));
  }
};

// The beta bits of slot s for bits [first, first + count) of the item's bit stream; wiped
// when it goes out of scope.
struct BetaWords {
  std::vector<u128> words;
  ~BetaWords() { cleanse(words.data(), words.size() * sizeof(u128)); }
  unsigned bit(std::uint64_t q) const { return bit_at(words, q); }
};

BetaWords beta_words(const BatchContext& b, const Domain& d, int s, std::uint64_t first,
                     std::uint64_t count) {
  BetaWords w;
  w.words.resize(((first + count + 127) >> 7) - (first >> 7));
  b.session.slot_prf(s).stream(d.bytes()).fill_u128(first >> 7, w.words);
  return w;
}

struct BitDomains {
  Domain beta, r1, w1;
};

BitDomains bit_domains(const BatchContext& b, std::string_view name, std::uint64_t item) {
  return {b.batch(std::string(name) + ".beta", item), b.batch(std::string(name) + ".r1", item),
          b.batch(std::string(name) + ".w1", item)};
}

// Sub-group 0: its shares, and the (R_2, W_2) pairs for sub-group 1 appended to `post`.
void bits_group0(const BatchContext& b, const BitDomains& d, std::uint64_t first,
                 std::uint64_t count, BitShares& out, std::vector<u128>& post) {
  const auto w1w = beta_words(b, d.beta, 1, first, count);
  const auto w2w = beta_words(b, d.beta, 2, first, count);
  std::vector<u128> r1(count), big_w1(count);
  b.session.slot_prf(1).stream(d.r1.bytes()).fill_u128(first, r1);
  b.session.slot_prf(1).stream(d.w1.bytes()).fill_u128(first, big_w1);
  const u128 al1 = b.alpha1, al2 = b.alpha2;  // slots 1 and 2
  const std::uint64_t off = first & 127;
  for (std::uint64_t q = 0; q < count; ++q) {
    const unsigned beta1 = w1w.bit(off + q), beta2 = w2w.bit(off + q);
    const u128 r = beta1 ^ beta2;
    const u128 r2 = r - r1[q];
    const u128 w2 = al1 * r2 + al2 * r1[q] - big_w1[q];
    post.push_back(r2);
    post.push_back(w2);
    out.value.push_back(r);
    out.mac.push_back((al1 + al2) * r);
    out.out_bit.push_back(beta1);
  }
  cleanse(r1.data(), r1.size() * sizeof(u128));
  cleanse(big_w1.data(), big_w1.size() * sizeof(u128));
}

// Sub-group 1, with the (R_2, W_2) pairs sub-group 0 sent for these bits.
void bits_group1(const BatchContext& b, const BitDomains& d, std::uint64_t first,
                 std::uint64_t count, std::span<const u128> received, BitShares& out) {
  const auto w2w = beta_words(b, d.beta, 2, first, count);
  const auto w0w = beta_words(b, d.beta, 0, first, count);
  const u128 al2 = b.alpha1, al0 = b.alpha2;  // slots 2 and 0
  const std::uint64_t off = first & 127;
  for (std::uint64_t q = 0; q < count; ++q) {
    const u128 beta0 = w0w.bit(off + q);
    const u128 r2 = received[2 * q], w2 = received[2 * q + 1];
    out.value.push_back(beta0 - 2 * beta0 * r2);
    out.mac.push_back((al0 + al2) * beta0 + al0 * r2 - 2 * beta0 * (al0 * r2 + al2 * r2 + w2));
    out.out_bit.push_back(w2w.bit(off + q));
  }
}

void bits_group2(const BatchContext& b, const BitDomains& d, std::uint64_t first,
                 std::uint64_t count, BitShares& out) {
  const auto w0w = beta_words(b, d.beta, 0, first, count);
  std::vector<u128> r1(count), big_w1(count);
  b.session.slot_prf(1).stream(d.r1.bytes()).fill_u128(first, r1);
  b.session.slot_prf(1).stream(d.w1.bytes()).fill_u128(first, big_w1);
  const u128 al0 = b.alpha1, al1 = b.alpha2;  // slots 0 and 1
  const std::uint64_t off = first & 127;
  for (std::uint64_t q = 0; q < count; ++q) {
    const u128 beta0 = w0w.bit(off + q);
    out.value.push_back(0 - 2 * beta0 * r1[q]);
    out.mac.push_back(al1 * beta0 + al0 * r1[q] -
                      2 * beta0 * (al0 * r1[q] + al1 * r1[q] + big_w1[q]));
    out.out_bit.push_back(static_cast<unsigned>(beta0));
  }
  cleanse(r1.data(), r1.size() * sizeof(u128));
  cleanse(big_w1.data(), big_w1.size() * sizeof(u128));
}

// Runs the random-bit circuit for `bits_per` bits per instance of `it` and hands each chunk
// of instances' bit shares to emit(first_instance, shares). Sub-groups 0 and 2 finish now;
// sub-group 1 needs the round's message, so its work is the returned finisher.
template <class Emit>
Finisher random_bits(BatchContext& b, const ItemRef& it, std::string_view name,
                     std::uint64_t bits_per, Emit emit) {
  const auto d = std::make_shared<BitDomains>(bit_domains(b, name, it.index));
  const std::uint64_t chunk = std::max<std::uint64_t>(1, kChunkBits / bits_per);
  const int g = b.roles().group();
  if (g == 1) {
    return [&b, it, d, bits_per, chunk, emit] {
      std::vector<u128> received(2 * bits_per * it.mine.size());
      b.exchange.take(it.item->count, it.mine, received, 2 * bits_per);
      for (std::uint64_t lo = it.mine.lo; lo < it.mine.hi; lo += chunk) {
        const std::uint64_t n = std::min(chunk, it.mine.hi - lo);
        BitShares s;
        bits_group1(b, *d, lo * bits_per, n * bits_per,
                    std::span<const u128>(received).subspan(2 * bits_per * (lo - it.mine.lo),
                                                            2 * bits_per * n),
                    s);
        emit(lo, s);
      }
      cleanse(received.data(), received.size() * sizeof(u128));
    };
  }
  std::vector<u128> post;
  for (std::uint64_t lo = it.mine.lo; lo < it.mine.hi; lo += chunk) {
    const std::uint64_t n = std::min(chunk, it.mine.hi - lo);
    BitShares s;
    if (g == 0) {
      bits_group0(b, *d, lo * bits_per, n * bits_per, s, post);
    } else {
      bits_group2(b, *d, lo * bits_per, n * bits_per, s);
    }
    emit(lo, s);
  }
  if (g == 0) b.exchange.post(it.item->count, it.mine, post, 2 * bits_per);
  cleanse(post.data(), post.size() * sizeof(u128));
  return {};
}

}  // namespace

Finisher generate_dabits(BatchContext& b, const ItemRef& it) {
  const std::uint64_t first = it.first_element;
  return random_bits(b, it, "dabit", 1, [&b, first](std::uint64_t lo, const BitShares& s) {
    for (std::size_t i = 0; i < s.value.size(); ++i) {
      const std::uint64_t e = first + 2 * (lo + i);
      b.out.put(e, s.value[i], s.mac[i]);
      b.out.put_bits(e + 1, s.out_bit[i], 0);
    }
  });
}

Finisher generate_truncs(BatchContext& b, const ItemRef& it) {
  const std::uint64_t first = it.first_element;
  const unsigned f = it.item->type.f;
  // r = sum 2^j b_j, r_low >> f = sum_{f <= j < 63} 2^(j - f) b_j, r_msb = b_63: linear in
  // the bits, so the same combination of the bits' shares (and MAC shares) gives theirs.
  return random_bits(b, it, "trunc", 64, [&b, first, f](std::uint64_t lo, const BitShares& s) {
    for (std::size_t i = 0; i < s.value.size() / 64; ++i) {
      u128 r = 0, rm = 0, low = 0, lowm = 0;
      for (unsigned j = 0; j < 64; ++j) {
        r += s.value[64 * i + j] << j;
        rm += s.mac[64 * i + j] << j;
        if (j >= f && j < 63) {
          low += s.value[64 * i + j] << (j - f);
          lowm += s.mac[64 * i + j] << (j - f);
        }
      }
      const std::uint64_t e = first + 3 * (lo + i);
      b.out.put(e, r, rm);
      b.out.put(e + 1, low, lowm);
      b.out.put(e + 2, s.value[64 * i + 63], s.mac[64 * i + 63]);
    }
  });
}

Finisher generate_bit_triples(BatchContext& b, const ItemRef& it) {
  constexpr std::uint64_t kChunk = 4096;
  const Domain a_dom = b.batch("bit_triple.a", it.index), b_dom = b.batch("bit_triple.b", it.index);
  Components x, y;
  BigVector<u128> c;
  for (std::uint64_t lo = it.mine.lo; lo < it.mine.hi; lo += kChunk) {
    const std::uint64_t count = std::min(kChunk, it.mine.hi - lo);
    x.resize(2 * count);
    y.resize(2 * count);
    c.resize(2 * count);
    fill_random(b.session, a_dom, 2 * u128{lo}, x);
    fill_random(b.session, b_dom, 2 * u128{lo}, y);
    and_local(x.c1, x.c2, y.c1, y.c2, c);
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::uint64_t e = it.first_element + 3 * (lo + i);
      b.out.put_bits(e, x.c1[2 * i], x.c1[2 * i + 1]);
      b.out.put_bits(e + 1, y.c1[2 * i], y.c1[2 * i + 1]);
      b.out.put_bits(e + 2, c[2 * i], c[2 * i + 1]);
    }
  }
  for (auto* v : {&x.c1, &x.c2, &y.c1, &y.c2, &c}) cleanse(v->data(), v->size() * sizeof(u128));
  return {};
}

}  // namespace ppi::gen
