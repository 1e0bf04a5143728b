#pragma once
// How a group of n >= 3 dealers splits into three sub-groups, and how work is spread over them.
//
// The generator runs three-way replicated secret sharing among three sub-groups
// G_g = {members i : i mod 3 == g}: a secret is x = X_0 + X_1 + X_2 and every member of G_g
// holds the two components X_{g+1}, X_{g+2}, never X_g. So no single member can open it
// (t = 1), for any n >= 3, and every member does the work of one party of three-party
// replicated sharing, whatever n is (docs/generation.md).

#include <cstddef>
#include <cstdint>

namespace ppi::gen {

inline constexpr int kSubgroups = 3;

// Half-open range of item instances.
struct Range {
  std::uint64_t lo = 0, hi = 0;
  std::uint64_t size() const { return hi - lo; }
  bool empty() const { return hi <= lo; }
};

Range intersect(Range a, Range b);

class Roles {
 public:
  // Throws Error(invalid_argument) unless parties >= 3 and self < parties.
  Roles(std::size_t parties, std::size_t self);

  std::size_t parties() const { return parties_; }
  std::size_t self() const { return self_; }
  int group() const { return group_; }
  // The component slots this member holds: (group + 1) mod 3 and (group + 2) mod 3.
  int slot1() const { return (group_ + 1) % kSubgroups; }
  int slot2() const { return (group_ + 2) % kSubgroups; }
  // The sub-group that sends this member resharing messages, and the one it sends to.
  int prev_group() const { return (group_ + 2) % kSubgroups; }
  int next_group() const { return (group_ + 1) % kSubgroups; }

  std::size_t group_size(int g) const;
  std::size_t member(int g, std::size_t index) const {
    return static_cast<std::size_t>(g) + 3 * index;
  }
  std::size_t index_in_group() const { return self_ / 3; }

  // The instances of an item with `count` instances that member `index` of sub-group `g`
  // handles: the count is split into near-equal contiguous ranges, one per member.
  Range share_of(int g, std::size_t index, std::uint64_t count) const;
  Range my_share(std::uint64_t count) const { return share_of(group_, index_in_group(), count); }

 private:
  std::size_t parties_, self_;
  int group_;
};

}  // namespace ppi::gen
