#include "mpc/arith.hpp"

#include <string>

#include "core/error.hpp"

namespace ppi::mpc {

void check_same_size(std::size_t a, std::size_t b, const char* what) {
  if (a != b) {
    throw Error(Errc::invalid_argument, std::string(what) + ": sizes differ (" + std::to_string(a) +
                                            " and " + std::to_string(b) + ")");
  }
}

Shares share_own_input(std::span<const u64> values) {
  return Shares(values.begin(), values.end());
}

Shares share_peer_input(std::size_t count) {
  return Shares(count, 0);
}

Shares add(std::span<const u64> x, std::span<const u64> y) {
  check_same_size(x.size(), y.size(), "add");
  Shares z(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) z[i] = x[i] + y[i];
  return z;
}

Shares sub(std::span<const u64> x, std::span<const u64> y) {
  check_same_size(x.size(), y.size(), "sub");
  Shares z(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) z[i] = x[i] - y[i];
  return z;
}

Shares add_public(const Party& p, std::span<const u64> x, std::span<const u64> c) {
  check_same_size(x.size(), c.size(), "add_public");
  if (!p.is_model_owner()) return Shares(x.begin(), x.end());
  return add(x, c);
}

Shares add_public(const Party& p, std::span<const u64> x, u64 c) {
  Shares z(x.begin(), x.end());
  if (p.is_model_owner()) {
    for (u64& v : z) v += c;
  }
  return z;
}

Shares mul_public(std::span<const u64> x, u64 k) {
  Shares z(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) z[i] = x[i] * k;
  return z;
}

Shares mul_public(std::span<const u64> x, std::span<const u64> k) {
  check_same_size(x.size(), k.size(), "mul_public");
  Shares z(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) z[i] = x[i] * k[i];
  return z;
}

std::vector<u64> open(Party& p, std::span<const u64> x) {
  std::vector<u64> v = p.channel().exchange(x);
  for (std::size_t i = 0; i < x.size(); ++i) v[i] += x[i];
  return v;
}

std::vector<u64> reveal_to_client(Party& p, std::span<const u64> x) {
  if (p.is_model_owner()) {
    p.channel().send(x);
    return {};
  }
  std::vector<u64> v = p.channel().receive(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) v[i] += x[i];
  return v;
}

}  // namespace ppi::mpc
