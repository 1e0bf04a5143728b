#include "material/material_type.hpp"

#include <array>
#include <optional>

#include "core/error.hpp"

namespace ppi::material {

namespace {

// The name comes from the network or a config file: quote it, cut short and made printable.
[[noreturn]] void bad_type(std::string_view name, std::string_view why) {
  std::string shown;
  for (char c : name.substr(0, 80)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (name.size() > 80) shown += "...";
  throw Error(Errc::invalid_argument, "bad material type \"" + shown + "\": " + std::string(why));
}

// One decimal dimension: digits only, no leading zero, 1..max.
std::optional<std::uint32_t> parse_dim(std::string_view s, std::uint32_t max) {
  if (s.empty() || s.size() > 5 || s[0] == '0') return std::nullopt;
  std::uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

// The N '_'-separated dimensions that make up `rest` (the part of `name` after its prefix).
template <std::size_t N>
std::array<std::uint32_t, N> parse_dims(std::string_view name, std::string_view rest,
                                        std::uint32_t max) {
  std::array<std::uint32_t, N> dims{};
  for (std::size_t i = 0; i < N; ++i) {
    const std::size_t end = i + 1 < N ? rest.find('_') : rest.size();
    if (end == std::string_view::npos)
      bad_type(name, "expected " + std::to_string(N) + " dimensions");
    const auto d = parse_dim(rest.substr(0, end), max);
    if (!d) {
      bad_type(name, "a dimension must be a decimal integer from 1 to " + std::to_string(max) +
                         " without sign or leading zeros");
    }
    dims[i] = *d;
    rest.remove_prefix(i + 1 < N ? end + 1 : end);
  }
  return dims;
}

}  // namespace

MaterialType parse_material_type(std::string_view name) {
  auto starts = [&](std::string_view p) { return name.substr(0, p.size()) == p; };
  MaterialType t;
  if (name == "TRIPLE") {
    t.kind = Kind::triple;
  } else if (name == "DABIT") {
    t.kind = Kind::dabit;
  } else if (name == "BIT_TRIPLE") {
    t.kind = Kind::bit_triple;
  } else if (starts("TRUNC_")) {
    t.kind = Kind::trunc;
    t.f = parse_dims<1>(name, name.substr(6), 62)[0];
  } else if (starts("WEIGHT_MASK_")) {
    t.kind = Kind::weight_mask;
    const auto d = parse_dims<2>(name, name.substr(12), kMaxDim);
    t.k = d[0];
    t.n = d[1];
  } else if (starts("MATRIX_TRIPLE_") || starts("MASKED_TRIPLE_")) {
    t.kind = starts("MATRIX_") ? Kind::matrix_triple : Kind::masked_triple;
    const auto d = parse_dims<3>(name, name.substr(14), kMaxDim);
    t.m = d[0];
    t.k = d[1];
    t.n = d[2];
  } else {
    bad_type(name,
             "unknown type (expected TRIPLE, MATRIX_TRIPLE_m_k_n, TRUNC_f, DABIT, "
             "BIT_TRIPLE, WEIGHT_MASK_k_n or MASKED_TRIPLE_m_k_n)");
  }
  if (elements_per_item(t) > kMaxItemElements) {
    bad_type(name, "more than 2^28 elements per item");
  }
  return t;
}

std::string to_string(const MaterialType& t) {
  auto s = [](std::uint32_t v) { return std::to_string(v); };
  switch (t.kind) {
    case Kind::triple:
      return "TRIPLE";
    case Kind::matrix_triple:
      return "MATRIX_TRIPLE_" + s(t.m) + "_" + s(t.k) + "_" + s(t.n);
    case Kind::trunc:
      return "TRUNC_" + s(t.f);
    case Kind::dabit:
      return "DABIT";
    case Kind::bit_triple:
      return "BIT_TRIPLE";
    case Kind::weight_mask:
      return "WEIGHT_MASK_" + s(t.k) + "_" + s(t.n);
    case Kind::masked_triple:
      return "MASKED_TRIPLE_" + s(t.m) + "_" + s(t.k) + "_" + s(t.n);
  }
  throw Error(Errc::internal, "unknown material kind");
}

std::uint64_t elements_per_item(const MaterialType& t) {
  // Dimensions are at most 2^16, so each product fits easily in 64 bits.
  const std::uint64_t m = t.m, k = t.k, n = t.n;
  switch (t.kind) {
    case Kind::triple:
    case Kind::trunc:
    case Kind::bit_triple:
      return 3;
    case Kind::dabit:
      return 2;
    case Kind::matrix_triple:
      return m * k + k * n + m * n;
    case Kind::weight_mask:
      return k * n;
    case Kind::masked_triple:
      return m * k + m * n;
  }
  throw Error(Errc::internal, "unknown material kind");
}

}  // namespace ppi::material
