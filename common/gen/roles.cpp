#include "gen/roles.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace ppi::gen {

Range intersect(Range a, Range b) {
  const std::uint64_t lo = std::max(a.lo, b.lo);
  const std::uint64_t hi = std::min(a.hi, b.hi);
  return lo < hi ? Range{lo, hi} : Range{lo, lo};
}

Roles::Roles(std::size_t parties, std::size_t self)
    : parties_(parties), self_(self), group_(static_cast<int>(self % kSubgroups)) {
  if (parties < 3) {
    throw Error(Errc::invalid_argument,
                "generation needs at least 3 dealers, the group has " + std::to_string(parties));
  }
  if (self >= parties) {
    throw Error(Errc::invalid_argument, "member " + std::to_string(self) +
                                            " is not in a group of " + std::to_string(parties));
  }
}

std::size_t Roles::group_size(int g) const {
  return (parties_ - static_cast<std::size_t>(g) + 2) / 3;
}

Range Roles::share_of(int g, std::size_t index, std::uint64_t count) const {
  const std::uint64_t members = group_size(g);
  return Range{count * index / members, count * (index + 1) / members};
}

}  // namespace ppi::gen
