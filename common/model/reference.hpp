#pragma once
// Plaintext references of an MLP graph: a double-precision forward pass (the model as trained)
// and a fixed-point forward pass with exactly the arithmetic of the private engine, against
// which the 2PC program's outputs are compared.
//
// Fixed-point semantics (f = graph.frac_bits, l = graph.magnitude_bits):
//   - inputs, weights and biases are ring/fixed_point.hpp encodings with f fractional bits
//     (two's complement in Z_2^64, round to nearest);
//   - Linear: P = X W mod 2^64 (2 f fractional bits), then floor(P / 2^f) by an arithmetic
//     shift (ring/fixed_point.hpp truncate_plain), then + b;
//   - ReLU: y if y read as signed is >= 0, else 0;
//   - argmax over the last layer's outputs read as signed; ties go to the lowest index.
// Every value the engine handles must satisfy |x| < 2^l: the inputs, each product P before
// truncation (exactly, without wrap-around), each output after the bias. The reference checks
// all of them and throws Error(invalid_argument) naming the layer when one does not, because a
// private result past that bound would be silently wrong.

#include <cstddef>
#include <span>
#include <vector>

#include "model/mlp.hpp"
#include "ring/z2k.hpp"

namespace ppi::model {

struct FixedPointResult {
  std::size_t batch = 0;
  std::size_t classes = 0;
  std::vector<u64> logits;               // batch x classes, row-major, f fractional bits
  std::vector<std::size_t> predictions;  // batch
  u64 max_abs = 0;  // the largest |value| met, in ring units (compare with 2^l)
};

struct FloatResult {
  std::size_t batch = 0;
  std::size_t classes = 0;
  std::vector<double> logits;
  std::vector<std::size_t> predictions;
};

// Encodes a batch of inputs (batch x input_dim, row-major) with the graph's f. Throws
// Error(invalid_argument) on a size mismatch or a value FixedPoint cannot encode.
std::vector<u64> encode_inputs(const MlpGraph& g, std::span<const double> inputs);

// The fixed-point forward pass of a batch of encoded inputs (batch x input_dim).
FixedPointResult fixed_point_forward(const MlpGraph& g, std::span<const u64> inputs,
                                     std::size_t batch);

// One layer of it, for comparing a private program layer by layer. `max_abs` is raised to the
// largest |value| met; the bound is checked as above.
std::vector<u64> linear_fixed(const Linear& layer, std::span<const u64> x, std::size_t batch,
                              int frac_bits, int magnitude_bits, u64& max_abs);
std::vector<u64> relu_fixed(std::span<const u64> x);

// The same graph in double precision, from the float weights.
FloatResult float_forward(const MlpGraph& g, std::span<const double> inputs, std::size_t batch);

// argmax of one row, ties to the lowest index; fixed-point entries are read as signed.
std::size_t argmax_signed(std::span<const u64> row);
std::size_t argmax(std::span<const double> row);

}  // namespace ppi::model
