#pragma once
// Which elements of a batch are arithmetic, known to the model owner, or boolean
// (docs/material-layout.md). The conversion masks and combines each element with its
// domain's operation, so a batch's layout must be known wherever its elements are masked,
// summed or expanded.

#include <cstdint>
#include <vector>

#include "material/plan.hpp"

namespace ppi::material {

enum class Domain : std::uint8_t {
  arithmetic,  // (x~, MAC share) in Z_2^128, additive; both halves masked
  mo_clear,    // (x~, MAC share): the value goes to the model owner unmasked, the MAC masked
  boolean,     // 256 GF(2) bits, XOR-shared, masked by XOR, no MAC
};

// The domain of element `index` (0-based) of one item of `type`; index < elements_per_item.
Domain domain_of(const MaterialType& type, std::uint64_t index);

struct Segment {
  std::uint64_t first = 0;  // element index in the batch
  std::uint64_t count = 0;
  Domain domain = Domain::arithmetic;
};

class BatchLayout {
 public:
  explicit BatchLayout(const MaterialPlan& plan);
  // `elements` arithmetic elements: material without a plan (benchmarks of the arithmetic).
  static BatchLayout all_arithmetic(std::uint64_t elements);

  std::uint64_t element_count() const { return element_count_; }
  // Maximal runs of one domain, in order, covering [0, element_count()).
  const std::vector<Segment>& segments() const { return segments_; }

  // Calls fn(Segment) for each run within [first, first + count), clipped to that range.
  // Throws Error(invalid_argument) if the range goes beyond the batch.
  template <class Fn>
  void for_each(std::uint64_t first, std::uint64_t count, Fn&& fn) const {
    const std::uint64_t end = check_range(first, count);
    for (std::size_t i = segment_at(first); i < segments_.size() && segments_[i].first < end; ++i) {
      const Segment& s = segments_[i];
      const std::uint64_t b = s.first > first ? s.first : first;
      const std::uint64_t e = s.first + s.count < end ? s.first + s.count : end;
      fn(Segment{b, e - b, s.domain});
    }
  }

 private:
  BatchLayout() = default;
  void append(std::uint64_t count, Domain d);
  std::uint64_t check_range(std::uint64_t first, std::uint64_t count) const;
  std::size_t segment_at(std::uint64_t element) const;

  std::vector<Segment> segments_;
  std::uint64_t element_count_ = 0;
};

}  // namespace ppi::material
