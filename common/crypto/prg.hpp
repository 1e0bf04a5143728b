#pragma once
// The seed expander of PROTOCOL.md section 5.
//
// Stream definition (normative: dealers, client and model owner must agree bit for bit):
//   Given a 16-byte seed s, element j of the stream, for j = 0, 1, 2, ..., is
//       R[j] = LE128( AES-128_s( BE128(j) ) )
//   where BE128(j) is j as a 16-byte big-endian integer (the counter block) and LE128 reads
//   the 16 output bytes as a little-endian integer in Z_2^128. Equivalently, the byte stream is
//   the AES-128-CTR keystream of key s with initial counter block 0 (SP 800-38A, the full 128
//   bits being the counter), and element j is bytes [16j, 16j + 16) of it. The semi-honest
//   online phase uses R[j] mod 2^64, i.e. the first 8 bytes of each block.
//
// Any element can be reached directly (random access): a dealer streaming shares and a client
// expanding its seeds can each work on any range of a batch independently.

#include <cstdint>
#include <span>

#include "crypto/aes_ctr.hpp"
#include "crypto/csprng.hpp"
#include "ring/z2k.hpp"

namespace ppi {

class Prg {
 public:
  explicit Prg(const Seed128& seed);

  // Bytes of the stream starting at the first byte of block `first_block`. out.size() need
  // not be a multiple of 16 (the last block is then cut short).
  void fill_bytes(u128 first_block, std::span<std::uint8_t> out);
  // out[i] = R[first_index + i].
  void fill_u128(u128 first_index, std::span<u128> out);
  // R[index] alone (for tests and the odd single element; use fill_u128 for bulk).
  u128 at(u128 index);

 private:
  AesCtr aes_;
};

}  // namespace ppi
