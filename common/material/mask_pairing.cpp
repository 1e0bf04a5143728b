#include "material/mask_pairing.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace ppi::material {

namespace {

std::string mask_name(std::uint32_t k, std::uint32_t n) {
  return "WEIGHT_MASK_" + std::to_string(k) + "_" + std::to_string(n);
}

MaskRef nth(MaskRef first, std::uint64_t i, std::uint32_t k, std::uint32_t n) {
  first.id += i;
  first.ordinal += i;
  first.first_element += i * k * n;
  return first;
}

// Consecutive items of one type merged, as a recorder merges consecutive demands.
MaterialPlan filtered(const MaterialPlan& plan, bool masks, const char* what) {
  std::vector<PlanItem> items;
  for (const PlanItem& it : plan.items()) {
    if ((it.type.kind == Kind::weight_mask) != masks) continue;
    if (!items.empty() && items.back().type == it.type) {
      items.back().count += it.count;
    } else {
      items.push_back(it);
    }
  }
  if (items.empty()) throw Error(Errc::invalid_argument, std::string("the plan has no ") + what);
  return MaterialPlan(std::move(items));
}

}  // namespace

MaskPairer::MaskPairer(const MaterialPlan* mask_plan) {
  if (mask_plan == nullptr) return;
  for (std::size_t i = 0; i < mask_plan->items().size(); ++i) {
    const PlanItem& it = mask_plan->items()[i];
    if (it.type.kind != Kind::weight_mask) {
      throw Error(Errc::invalid_argument, "a mask plan holds WEIGHT_MASK items only; item " +
                                              std::to_string(i) + " is " + to_string(it.type));
    }
    Shape& s = shapes_[{it.type.k, it.type.n}];
    s.mask_plan.push_back({s.mask_plan_count, next_ordinal_, mask_plan->offset_of(i), it.count});
    s.mask_plan_count += it.count;
    next_ordinal_ += it.count;
  }
}

MaskRef MaskPairer::add_masks(std::uint32_t k, std::uint32_t n, std::uint64_t count,
                              std::uint64_t first_element) {
  Shape& s = shapes_[{k, n}];
  const MaskRef first{false, s.batch_count, next_ordinal_, first_element};
  s.batch_count += count;
  next_ordinal_ += count;
  s.last_in_batch = nth(first, count - 1, k, n);
  return first;
}

std::optional<MaskRef> MaskPairer::next(std::uint32_t k, std::uint32_t n) const {
  const auto it = shapes_.find({k, n});
  if (it == shapes_.end()) return std::nullopt;
  const Shape& s = it->second;
  if (s.last_in_batch) return s.last_in_batch;
  if (s.mask_plan_count == 0) return std::nullopt;
  return in_mask_plan(k, n, s.unpaired);
}

void MaskPairer::take(std::uint32_t k, std::uint32_t n, std::uint64_t count) {
  const auto it = shapes_.find({k, n});
  if (it != shapes_.end() && !it->second.last_in_batch) it->second.unpaired += count;
}

MaskRef MaskPairer::in_mask_plan(std::uint32_t k, std::uint32_t n, std::uint64_t j) const {
  const auto it = shapes_.find({k, n});
  if (it == shapes_.end() || it->second.mask_plan_count == 0) {
    throw Error(Errc::internal, "the mask plan has no " + mask_name(k, n));
  }
  const Shape& s = it->second;
  const std::uint64_t id = j % s.mask_plan_count;
  const auto run =
      std::prev(std::upper_bound(s.mask_plan.begin(), s.mask_plan.end(), id,
                                 [](std::uint64_t v, const Run& r) { return v < r.first_id; }));
  return nth({true, run->first_id, run->ordinal, run->first_element}, id - run->first_id, k, n);
}

MaskPairing::MaskPairing(const MaterialPlan& batch, const MaterialPlan* mask_plan)
    : pairer_(mask_plan) {
  items_.reserve(batch.items().size());
  for (std::size_t i = 0; i < batch.items().size(); ++i) {
    const PlanItem& it = batch.items()[i];
    Item item{it, std::nullopt, false, 0};
    const std::uint32_t k = it.type.k, n = it.type.n;
    if (it.type.kind == Kind::weight_mask) {
      item.first = pairer_.add_masks(k, n, it.count, batch.offset_of(i));
    } else if (it.type.kind == Kind::masked_triple) {
      item.first = pairer_.next(k, n);
      if (item.first && item.first->in_mask_plan) {
        item.cycles = true;
        item.j0 = item.first->id;
      }
      pairer_.take(k, n, it.count);
    }
    items_.push_back(item);
  }
}

std::optional<MaskRef> MaskPairing::find(std::size_t item, std::uint64_t inst) const {
  if (item >= items_.size() || inst >= items_[item].item.count) {
    throw Error(Errc::invalid_argument, "mask pairing: no instance " + std::to_string(inst) +
                                            " of plan item " + std::to_string(item));
  }
  const Item& it = items_[item];
  const std::uint32_t k = it.item.type.k, n = it.item.type.n;
  switch (it.item.type.kind) {
    case Kind::weight_mask:
      return nth(*it.first, inst, k, n);
    case Kind::masked_triple:
      if (!it.first) return std::nullopt;
      // Instances paired by rule 1 share the batch's last mask; by rule 2 they cycle on.
      return it.cycles ? pairer_.in_mask_plan(k, n, it.j0 + inst) : *it.first;
    default:
      throw Error(Errc::invalid_argument, "mask pairing: plan item " + std::to_string(item) + " (" +
                                              to_string(it.item.type) +
                                              ") is neither a WEIGHT_MASK nor a MASKED_TRIPLE");
  }
}

MaskRef MaskPairing::mask_of(std::size_t item, std::uint64_t inst) const {
  const std::optional<MaskRef> r = find(item, inst);
  if (!r) {
    const MaterialType& t = items_[item].item.type;
    throw Error(Errc::invalid_argument, "plan item " + std::to_string(item) + " (" + to_string(t) +
                                            ") has no " + mask_name(t.k, t.n) +
                                            " before it and none in a mask plan");
  }
  return *r;
}

void MaskPairing::require_all_paired() const {
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (items_[i].item.type.kind == Kind::masked_triple && !items_[i].first) mask_of(i, 0);
  }
}

MaterialPlan mask_plan_of(const MaterialPlan& first_pass) {
  return filtered(first_pass, true, "WEIGHT_MASK items");
}

MaterialPlan batch_plan_of(const MaterialPlan& first_pass) {
  return filtered(first_pass, false, "items besides its WEIGHT_MASKs");
}

}  // namespace ppi::material
