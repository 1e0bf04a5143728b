#pragma once
// The plaintext fixed-point reference of the private GPT-2 pass (inference/gpt2_program.hpp):
// the same folded weights, the same order of operations, products mod 2^64 truncated by floor
// (ring/fixed_point.hpp truncate_plain) and the non-linear functions of approx/ with the
// private program's constants. A private pass differs from it only by the exact truncation's
// floor-or-one-more (PROTOCOL.md section 6) propagated through the network, which the tests
// bound; the float model (model/gpt2.hpp) is the accuracy reference.

#include <cstdint>
#include <span>
#include <vector>

#include "inference/gpt2_program.hpp"
#include "model/gpt2.hpp"

namespace ppi::inference {

// The logits of the pass (rows x V, f fractional bits; rows = 1 for Output::last, T for all),
// with the private program's padding of the tokens to the bucket.
std::vector<u64> gpt2_fixed_forward(const model::Gpt2Shape& shape,
                                    const model::Gpt2FixedWeights& weights,
                                    std::span<const std::uint32_t> tokens,
                                    const Gpt2PassOptions& options);

// The top-k of each row of logits read as signed, best first, ties to the lowest index (as the
// private argmax).
std::vector<std::uint32_t> top_k_rows(std::span<const u64> logits, std::uint32_t rows,
                                      std::uint32_t cols, std::uint32_t k);

}  // namespace ppi::inference
