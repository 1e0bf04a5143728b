#pragma once
// The MPC-to-2PC conversion of PROTOCOL.md section 5, as pure functions on byte blocks.
//
// A *pair block* is 32 bytes per element (the `pairs` of shares.proto); what the bytes mean
// depends on the element's domain (material/layout.hpp, docs/material-layout.md). The 32 bytes
// of element e are masked by bytes [32e, 32e + 32) of a dealer's stream R = Prg(shares_seed),
// so any range of a batch can be processed on its own, and a resumed stream gives the same
// bytes as the first one.
//
//   dealer i      -> MO: alpha_i - mac_key_mask_i, then pairs_i masked       (mask_mac_key,
//                                                                            mask_pairs)
//   model owner:  share = combination over dealers of what it received       (combine_pairs)
//   client:       share = (sum_i mac_key_mask_i, combination of the R_i)     (ClientShareExpander)
//
// Arithmetic elements are masked by subtraction and combined by addition in Z_2^128; boolean
// elements by XOR; mo_clear elements go to the model owner unmasked (the client's value share
// is 0) while their MAC shares are masked like arithmetic ones.

#include <cstdint>
#include <span>
#include <vector>

#include "core/bytes.hpp"
#include "crypto/csprng.hpp"
#include "crypto/prg.hpp"
#include "material/layout.hpp"
#include "ring/z2k.hpp"

namespace ppi::material {

inline constexpr std::size_t kPairBytes = 32;

// Dealer side: out = pairs masked with R, for elements first_element, first_element + 1, ...
// pairs.size() must be a multiple of 32, equal out.size() and stay within the layout, else
// Error(invalid_argument). out may be pairs itself (in place) but must not overlap it
// partially.
void mask_pairs(const BatchLayout& layout, Prg& prg, std::uint64_t first_element, ByteView pairs,
                std::span<std::uint8_t> out);

// Dealer side: the first field of its stream to MO.
inline u128 mask_mac_key(u128 alpha_share, u128 mac_key_mask) {
  return alpha_share - mac_key_mask;
}

// Model owner side: acc combined with pairs element by element (+ in Z_2^128, XOR for boolean
// elements); sizes equal, a multiple of 32, within the layout.
void add_pairs(const BatchLayout& layout, std::uint64_t first_element, std::span<std::uint8_t> acc,
               ByteView pairs);

// Model owner side: out = the combination of all parts (at least one), in one pass over out;
// every part the size of out.
void combine_pairs(const BatchLayout& layout, std::uint64_t first_element,
                   std::span<const ByteView> parts, std::span<std::uint8_t> out);

// Client side: expands the dealers' seeds into the client's 2PC share, range by range, so the
// client stores only n seeds per batch. Keeps the AES key schedules (wiped by OpenSSL on free)
// and the summed masks; the seeds passed in are wiped when the constructor returns.
class ClientShareExpander {
 public:
  // One seed and one mask per dealer, same number, at least one; else Error(invalid_argument).
  ClientShareExpander(std::vector<Seed128> seeds, std::vector<u128> mac_key_masks);
  ~ClientShareExpander();
  ClientShareExpander(const ClientShareExpander&) = delete;
  ClientShareExpander& operator=(const ClientShareExpander&) = delete;

  // The client's share of alpha: sum of the dealers' mac_key_masks.
  u128 mac_key_share() const { return mac_key_share_; }
  // The client's share of elements first_element, ...: the combination of the R_i, with the
  // value half of mo_clear elements 0 (out_pairs.size() a multiple of 32, within the layout).
  void expand(const BatchLayout& layout, std::uint64_t first_element,
              std::span<std::uint8_t> out_pairs);

 private:
  std::vector<Prg> prgs_;
  u128 mac_key_share_ = 0;
};

}  // namespace ppi::material
