#pragma once
// A vector of u64 that holds secret material (a party's share of triples, masks, weights) and
// is wiped when released.

#include <cstddef>
#include <vector>

#include "core/bytes.hpp"
#include "ring/z2k.hpp"

namespace ppi::mpc {

class SecretWords : public std::vector<u64> {
 public:
  using std::vector<u64>::vector;
  SecretWords() = default;
  SecretWords(const SecretWords&) = default;
  SecretWords(SecretWords&&) noexcept = default;
  SecretWords& operator=(const SecretWords&) = default;
  SecretWords& operator=(SecretWords&&) noexcept = default;
  ~SecretWords() { cleanse(data(), size() * sizeof(u64)); }
};

}  // namespace ppi::mpc
