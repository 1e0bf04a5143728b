#include "model/reference.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "ring/fixed_point.hpp"

namespace ppi::model {
namespace {

using i128 = __int128;

std::int64_t as_signed(u64 v) {
  return static_cast<std::int64_t>(v);
}

u64 magnitude(i128 v) {
  const i128 mag = v < 0 ? -v : v;
  // Past 2^64 the exact value no longer matters: it is far beyond any l <= 62.
  return mag >= (i128{1} << 64) ? ~u64{0} : static_cast<u64>(mag);
}

// `what` builds the message only when the bound is broken: this runs for every value.
template <class Describe>
void check_bound(i128 v, int magnitude_bits, u64& max_abs, Describe what) {
  const u64 mag = magnitude(v);
  max_abs = std::max(max_abs, mag);
  if (mag >= (u64{1} << magnitude_bits)) {
    throw Error(Errc::invalid_argument, "fixed point: " + what() + " has |value| >= 2^" +
                                            std::to_string(magnitude_bits) +
                                            " (the private engine would compute it wrongly)");
  }
}

void check_input_size(const MlpGraph& g, std::size_t size, std::size_t batch) {
  if (batch == 0 || size != batch * g.input_dim) {
    throw Error(Errc::invalid_argument, "inputs: " + std::to_string(size) +
                                            " values for a batch of " + std::to_string(batch) +
                                            " x " + std::to_string(g.input_dim));
  }
}

template <class T, class Less>
std::size_t argmax_by(std::span<const T> row, Less less) {
  if (row.empty()) throw Error(Errc::invalid_argument, "argmax of an empty row");
  std::size_t best = 0;
  // Strictly greater replaces, so the first of equal maxima wins.
  for (std::size_t j = 1; j < row.size(); ++j) {
    if (less(row[best], row[j])) best = j;
  }
  return best;
}

}  // namespace

std::size_t argmax_signed(std::span<const u64> row) {
  return argmax_by(row, [](u64 a, u64 b) { return as_signed(a) < as_signed(b); });
}

std::size_t argmax(std::span<const double> row) {
  return argmax_by(row, [](double a, double b) { return a < b; });
}

std::vector<u64> encode_inputs(const MlpGraph& g, std::span<const double> inputs) {
  if (g.input_dim == 0 || inputs.size() % g.input_dim != 0) {
    throw Error(Errc::invalid_argument, "inputs: " + std::to_string(inputs.size()) +
                                            " values are not rows of " +
                                            std::to_string(g.input_dim));
  }
  return FixedPoint(g.frac_bits).encode(inputs);
}

std::vector<u64> linear_fixed(const Linear& layer, std::span<const u64> x, std::size_t batch,
                              int frac_bits, int magnitude_bits, u64& max_abs) {
  if (x.size() != batch * layer.in) {
    throw Error(Errc::invalid_argument, "linear: input of " + std::to_string(x.size()) +
                                            " values for " + std::to_string(batch) + " x " +
                                            std::to_string(layer.in));
  }
  std::vector<u64> y(batch * layer.out);
  std::vector<i128> acc(layer.out);
  for (std::size_t i = 0; i < batch; ++i) {
    // The exact product, so that a sum past 2^l is caught instead of wrapping mod 2^64.
    std::fill(acc.begin(), acc.end(), 0);
    for (std::size_t k = 0; k < layer.in; ++k) {
      const i128 xv = as_signed(x[i * layer.in + k]);
      const u64* w = layer.weight_fixed.data() + k * layer.out;
      for (std::size_t j = 0; j < layer.out; ++j) {
        if (__builtin_add_overflow(acc[j], xv * as_signed(w[j]), &acc[j])) {
          throw Error(Errc::invalid_argument, "fixed point: product overflows 128 bits");
        }
      }
    }
    for (std::size_t j = 0; j < layer.out; ++j) {
      auto where = [&] { return "row " + std::to_string(i) + " output " + std::to_string(j); };
      check_bound(acc[j], magnitude_bits, max_abs,
                  [&] { return "product before truncation at " + where(); });
      const u64 product = static_cast<u64>(acc[j]);  // == acc mod 2^64, as the engine holds it
      const u64 out = truncate_plain(product, frac_bits) + layer.bias_fixed[j];
      check_bound(as_signed(out), magnitude_bits, max_abs,
                  [&] { return "output after bias at " + where(); });
      y[i * layer.out + j] = out;
    }
  }
  return y;
}

std::vector<u64> relu_fixed(std::span<const u64> x) {
  std::vector<u64> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = as_signed(x[i]) >= 0 ? x[i] : 0;
  return y;
}

FixedPointResult fixed_point_forward(const MlpGraph& g, std::span<const u64> inputs,
                                     std::size_t batch) {
  check_input_size(g, inputs.size(), batch);
  FixedPointResult r;
  r.batch = batch;
  r.classes = g.classes;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    check_bound(as_signed(inputs[i]), g.magnitude_bits, r.max_abs,
                [&] { return "input " + std::to_string(i); });
  }
  std::vector<u64> x(inputs.begin(), inputs.end());
  for (std::size_t j = 0; j < g.layers.size(); ++j) {
    try {
      if (const auto* l = std::get_if<Linear>(&g.layers[j])) {
        x = linear_fixed(*l, x, batch, g.frac_bits, g.magnitude_bits, r.max_abs);
      } else {
        x = relu_fixed(x);
      }
    } catch (const Error& e) {
      throw Error(e.code(), "layer " + std::to_string(j) + ": " + e.what());
    }
  }
  r.logits = std::move(x);
  const std::size_t width = g.classes;  // validate() ties the last layer's width to it
  for (std::size_t i = 0; i < batch; ++i) {
    r.predictions.push_back(
        argmax_signed(std::span<const u64>(r.logits).subspan(i * width, width)));
  }
  return r;
}

FloatResult float_forward(const MlpGraph& g, std::span<const double> inputs, std::size_t batch) {
  check_input_size(g, inputs.size(), batch);
  std::vector<double> x(inputs.begin(), inputs.end());
  for (const Layer& layer : g.layers) {
    if (const auto* l = std::get_if<Linear>(&layer)) {
      std::vector<double> y(batch * l->out);
      for (std::size_t i = 0; i < batch; ++i) {
        double* row = y.data() + i * l->out;
        std::copy(l->bias.begin(), l->bias.end(), row);
        for (std::size_t k = 0; k < l->in; ++k) {
          const double xv = x[i * l->in + k];
          for (std::size_t j = 0; j < l->out; ++j) row[j] += xv * l->weight[k * l->out + j];
        }
      }
      x = std::move(y);
    } else {
      for (double& v : x) v = std::max(v, 0.0);
    }
  }
  FloatResult r;
  r.batch = batch;
  r.classes = g.classes;
  r.logits = std::move(x);
  for (std::size_t i = 0; i < batch; ++i) {
    r.predictions.push_back(
        argmax(std::span<const double>(r.logits).subspan(i * g.classes, g.classes)));
  }
  return r;
}

}  // namespace ppi::model
