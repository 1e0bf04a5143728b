#pragma once
// The MPC-to-2PC conversion of PROTOCOL.md section 5, as pure functions on byte blocks.
//
// A *pair block* is 32 bytes per element: the Z_2^128 share, then the MAC share, each 16 bytes
// little-endian (the `pairs` of shares.proto). Element e of a batch is masked with
// R[2e] (share) and R[2e + 1] (MAC share) of a dealer's stream R = Prg(shares_seed), so the
// 32 bytes of element e are masked by stream bytes [32e, 32e + 32): any range of a batch can be
// processed on its own, and a resumed stream gives the same bytes as the first one.
//
//   dealer i      -> MO: alpha_i - mac_key_mask_i, then pairs_i - R_i       (mask_mac_key,
//                                                                            mask_pairs)
//   model owner:  share = sum over dealers of what it received               (add_pairs)
//   client:       share = (sum_i mac_key_mask_i, sum_i R_i)                  (ClientShareExpander)

#include <cstdint>
#include <span>
#include <vector>

#include "core/bytes.hpp"
#include "crypto/csprng.hpp"
#include "crypto/prg.hpp"
#include "ring/z2k.hpp"

namespace ppi::material {

inline constexpr std::size_t kPairBytes = 32;

// Dealer side: out = pairs - R for elements first_element, first_element + 1, ...
// pairs.size() must be a multiple of 32 and equal out.size(), else Error(invalid_argument).
// out may be pairs itself (in place) but must not overlap it partially.
void mask_pairs(Prg& prg, std::uint64_t first_element, ByteView pairs, std::span<std::uint8_t> out);

// Dealer side: the first field of its stream to MO.
inline u128 mask_mac_key(u128 alpha_share, u128 mac_key_mask) {
  return alpha_share - mac_key_mask;
}

// Model owner side: acc += pairs element-wise in Z_2^128 (sizes equal, multiple of 32).
void add_pairs(std::span<std::uint8_t> acc, ByteView pairs);

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
  // out_pairs = sum_i R_i for elements first_element, ... (out_pairs.size() a multiple of 32).
  void expand(std::uint64_t first_element, std::span<std::uint8_t> out_pairs);

 private:
  std::vector<Prg> prgs_;
  u128 mac_key_share_ = 0;
};

}  // namespace ppi::material
