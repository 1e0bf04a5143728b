#pragma once
// What every online operation needs to know about the party running it: its role, the channel
// to the peer, its material, the ring kernels, and the fixed-point parameters.
//
// Party 0 is the model owner (MO), party 1 the client (C). Values are additive shares mod 2^64
// of two's complement fixed-point numbers with `frac_bits` fractional bits; `magnitude_bits` is
// the bound l of PROTOCOL.md section 6: every value an operation truncates or compares must have
// |x| < 2^l (l <= 62), which the encoding guarantees (ring/fixed_point.hpp).

#include <cstdint>

#include "compute/ring_kernels.hpp"
#include "core/error.hpp"
#include "mpc/channel.hpp"
#include "mpc/material_source.hpp"

namespace ppi::mpc {

enum class Role : int { model_owner = 0, client = 1 };

inline constexpr int kDefaultFracBits = 16;
inline constexpr int kMaxMagnitudeBits = 62;

class Party {
 public:
  // Error(invalid_argument) unless 1 <= frac_bits <= magnitude_bits <= 62.
  Party(Role role, Channel& channel, MaterialSource& material, compute::RingKernels& kernels,
        int frac_bits = kDefaultFracBits, int magnitude_bits = kMaxMagnitudeBits)
      : role_(role),
        channel_(channel),
        material_(material),
        kernels_(kernels),
        frac_bits_(frac_bits),
        magnitude_bits_(magnitude_bits) {
    if (frac_bits < 1 || frac_bits > magnitude_bits || magnitude_bits > kMaxMagnitudeBits) {
      throw Error(Errc::invalid_argument,
                  "fixed point needs 1 <= frac_bits <= magnitude_bits <= 62");
    }
  }

  Role role() const { return role_; }
  // Public constants and the E F term of a Beaver product are added by party 0 only.
  bool is_model_owner() const { return role_ == Role::model_owner; }
  Channel& channel() { return channel_; }
  MaterialSource& material() { return material_; }
  compute::RingKernels& kernels() { return kernels_; }
  int frac_bits() const { return frac_bits_; }
  int magnitude_bits() const { return magnitude_bits_; }

 private:
  Role role_;
  Channel& channel_;
  MaterialSource& material_;
  compute::RingKernels& kernels_;
  int frac_bits_;
  int magnitude_bits_;
};

}  // namespace ppi::mpc
