#pragma once
// Products against an operand that grows over a generation: a step's query row times the
// cached keys (Y = K^T, one column per slot) and its attention row times the cached values
// (Y = V, one row per slot), `count` of them side by side (one per attention head).
//
// One MATRIX_TRIPLE_steps_k_n per product serves every step (docs/transformer.md,
// "Generation"): row t of its A masks step t's left operand x_t, and each entry of its B masks
// one entry of Y, opened as Y - B once, with the first multiply after the entry is set. With
// E the opened Y - B (0 where Y is not set yet) and D_t = x_t - A_t opened,
//   x_t Y = D_t E + D_t [B] + [A_t] E + [C_t],   C_t = A_t B (row t of C),
// where an entry not yet set counts as B's (Y's unknown part is never opened): a column of the
// result whose column of Y has an unset entry is meaningless, and x_t must be 0 where it meets
// an unset row of Y (a causal mask does that). Each row of A and each entry of B is opened once,
// so the openings are uniformly random, as a single Beaver product's are. A step opens its own
// row and the entries set since the last step instead of the whole cache against a fresh
// triple: count (k + new entries) values per step rather than count k (1 + n).
//
// Cost:
//   construction: no round; count MATRIX_TRIPLE_steps_k_n, taken in order.
//   set:          no round (the entries are opened with the next multiply).
//   multiply:     1 round; 8 count (k + entries set since the last multiply) bytes sent by each
//                 party; no material. Exact in Z_2^64 (a fixed-point product carries 2f
//                 fractional bits and is truncated after, mpc/truncate.hpp).

#include <cstdint>
#include <span>
#include <vector>

#include "mpc/arith.hpp"
#include "mpc/material_source.hpp"

namespace ppi::mpc {

class GrowingMatmul {
 public:
  // Error(invalid_argument) when a dimension is 0.
  GrowingMatmul(Party& p, std::uint32_t count, std::uint32_t steps, std::uint32_t k,
                std::uint32_t n);

  // Sets the entries `at` (indices into each product's k x n Y, row-major) of every product to
  // `values`, count blocks of at.size() shares. Error(conflict) for an entry set before,
  // Error(invalid_argument) for an index out of range or a wrong size.
  void set(std::span<const std::uint32_t> at, std::span<const u64> values);

  // x holds count blocks of k shares (step t's left rows); returns count blocks of n, the rows
  // x_t Y. Error(conflict) after `steps` multiplies, Error(invalid_argument) on a wrong size.
  Shares multiply(Party& p, std::span<const u64> x);

  // This party's shares of every product's Y (count blocks of k x n): E + [B] at party 0,
  // [B] at party 1, after the entries were opened; unset entries are B's.
  Shares operand(const Party& p) const;

  std::uint32_t steps_done() const { return step_; }

 private:
  std::uint32_t count_, steps_, k_, n_;
  std::uint32_t step_ = 0;
  std::vector<Triples> triples_;
  std::vector<u64> opened_;           // count x k x n: E, 0 where not opened yet
  std::vector<std::uint8_t> is_set_;  // k x n
  std::vector<std::uint32_t> pending_;
  std::vector<std::vector<u64>> pending_masked_;  // per product: this party's Y - B, to send
};

}  // namespace ppi::mpc
