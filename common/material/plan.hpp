#pragma once
// A model's material plan (PROTOCOL.md section 3): the ordered list of (type, count) that one
// batch holds. The batch's elements are the items in plan order, each item's `count`
// instances one after another, each instance laid out as material_type.hpp says.
//
// JSON form (REST `plan`): [{"type": "TRIPLE", "count": 1000}, ...]. The canonical string is
// that JSON, compact and with keys sorted: equal plans give equal strings, so it is what gets
// stored and compared.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "material/material_type.hpp"

namespace ppi::material {

struct PlanItem {
  MaterialType type;
  std::uint64_t count = 0;

  bool operator==(const PlanItem&) const = default;
};

// Bound on a batch: 2^32 elements is 128 GiB per dealer share, far beyond any one inference.
inline constexpr std::uint64_t kMaxPlanElements = std::uint64_t{1} << 32;

class MaterialPlan {
 public:
  // Throws Error(invalid_argument) on an empty plan, a zero count or more than
  // kMaxPlanElements elements in all.
  explicit MaterialPlan(std::vector<PlanItem> items);

  // Strict: an array of objects with exactly "type" (a type name) and "count" (an integer
  // >= 1), at least one item; anything else is Error(invalid_argument).
  static MaterialPlan from_json(const nlohmann::json& j);
  // Parses JSON text (e.g. a canonical string) with the same rules.
  static MaterialPlan parse(std::string_view json_text);

  const std::vector<PlanItem>& items() const { return items_; }
  std::uint64_t element_count() const { return offsets_.back(); }
  // Index of the first element of item `index`; offset_of(items().size()) == element_count().
  std::uint64_t offset_of(std::size_t index) const;

  nlohmann::json to_json() const;
  std::string canonical() const;

  bool operator==(const MaterialPlan& o) const { return items_ == o.items_; }

 private:
  std::vector<PlanItem> items_;
  std::vector<std::uint64_t> offsets_;  // items_.size() + 1 prefix sums
};

// Which WEIGHT_MASK a MASKED_TRIPLE is made with: material/mask_pairing.hpp.

}  // namespace ppi::material
