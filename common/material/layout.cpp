#include "material/layout.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace ppi::material {

Domain domain_of(const MaterialType& type, std::uint64_t index) {
  switch (type.kind) {
    case Kind::bit_triple:
      return Domain::boolean;
    case Kind::dabit:
      return index == 0 ? Domain::arithmetic : Domain::boolean;
    case Kind::weight_mask:
      return Domain::mo_clear;
    case Kind::triple:
    case Kind::matrix_triple:
    case Kind::trunc:
    case Kind::masked_triple:
      return Domain::arithmetic;
  }
  throw Error(Errc::internal, "unknown material kind");
}

void BatchLayout::append(std::uint64_t count, Domain d) {
  if (count == 0) return;
  if (!segments_.empty() && segments_.back().domain == d) {
    segments_.back().count += count;
  } else {
    segments_.push_back({element_count_, count, d});
  }
  element_count_ += count;
}

BatchLayout::BatchLayout(const MaterialPlan& plan) {
  for (const PlanItem& item : plan.items()) {
    const std::uint64_t per = elements_per_item(item.type);
    // Only a DABIT mixes domains within an item; every other type is one run, whatever its
    // size (a matrix triple has millions of elements: no per-element calls for it).
    if (item.type.kind != Kind::dabit) {
      append(per * item.count, domain_of(item.type, 0));
      continue;
    }
    std::vector<Segment> runs;  // one item's runs, repeated for every instance
    for (std::uint64_t i = 0; i < per; ++i) {
      const Domain d = domain_of(item.type, i);
      if (!runs.empty() && runs.back().domain == d) {
        ++runs.back().count;
      } else {
        runs.push_back({i, 1, d});
      }
    }
    for (std::uint64_t c = 0; c < item.count; ++c) {
      for (const Segment& run : runs) append(run.count, run.domain);
    }
  }
}

BatchLayout BatchLayout::all_arithmetic(std::uint64_t elements) {
  BatchLayout l;
  l.append(elements, Domain::arithmetic);
  return l;
}

std::uint64_t BatchLayout::check_range(std::uint64_t first, std::uint64_t count) const {
  if (first > element_count_ || count > element_count_ - first) {
    throw Error(Errc::invalid_argument, "elements [" + std::to_string(first) + ", +" +
                                            std::to_string(count) + ") are beyond the batch's " +
                                            std::to_string(element_count_));
  }
  return first + count;
}

std::size_t BatchLayout::segment_at(std::uint64_t element) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), element,
                             [](std::uint64_t e, const Segment& s) { return e < s.first; });
  return it == segments_.begin() ? 0 : static_cast<std::size_t>(it - segments_.begin() - 1);
}

}  // namespace ppi::material
