#pragma once
// Which WEIGHT_MASK a MASKED_TRIPLE is made with: the one rule that the generator
// (gen/generate.cpp), the 2PC cursor and the plan recorder (mpc/batch_share.hpp,
// mpc/plan_recorder.hpp), the verifier (material/verify.hpp) and the test fixture share, so
// that a batch is made, consumed and checked with the same B.
//
// A model's material comes in two plans. Its *mask plan* holds only WEIGHT_MASK items, in the
// order its program first uses them: the long-lived masks B, meant to reach the model owner
// once per (model, dealer group). Its *batch plan* is everything else, per inference. A
// first-pass plan holds both interleaved and needs no mask plan; its WEIGHT_MASKs, in order,
// are exactly the mask plan (mask_plan_of), and the rest is the batch plan (batch_plan_of).
//
// The rule, for each MASKED_TRIPLE_m_k_n instance of a batch:
//   1. the last WEIGHT_MASK_k_n instance before it in the batch, if there is one (any m);
//   2. otherwise, when the batch comes with a mask plan: its j-th such instance (counting from
//      0, in batch order, the MASKED_TRIPLE_*_k_n instances that rule 1 leaves unpaired) pairs
//      with WEIGHT_MASK_k_n instance j mod N_kn of the mask plan, N_kn being the mask plan's
//      instances of that shape. A program uses each weight once per pass, in setup order, so
//      pass after pass cycles through them;
//   3. otherwise there is no mask: Error(invalid_argument) naming the plan item.
//
// A mask is named three ways (MaskRef):
//   - id: its index among the WEIGHT_MASK_k_n instances of its own plan (mpc::WeightMask::id);
//   - ordinal: the generator's numbering (docs/generation.md), its index among all WEIGHT_MASK
//     instances of its plan, all sizes together. B is derived from (group, model, type,
//     ordinal), so a mask plan and the first-pass plan it was taken from give every mask the
//     same B. In a batch that comes with a mask plan, the batch's own masks number on after the
//     mask plan's: none of them gets a B of the mask set, since two weights masked with one B
//     would show the client their difference;
//   - first_element: the element of its B's first value, in its own plan.

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "material/plan.hpp"

namespace ppi::material {

struct MaskRef {
  bool in_mask_plan = false;  // else in the batch
  std::uint64_t id = 0;
  std::uint64_t ordinal = 0;
  std::uint64_t first_element = 0;

  bool operator==(const MaskRef&) const = default;
};

// The rule applied one instance at a time, while a batch is walked or recorded in plan order.
class MaskPairer {
 public:
  // `mask_plan`: none for a batch that carries its own masks; else WEIGHT_MASK items only, or
  // Error(invalid_argument). Its contents are copied: the plan need not outlive the pairer.
  explicit MaskPairer(const MaterialPlan* mask_plan = nullptr);

  // Appends `count` WEIGHT_MASK_k_n instances to the batch, the first at `first_element`, and
  // returns the first one's name; instance i is id + i, ordinal + i, first_element + i k n.
  MaskRef add_masks(std::uint32_t k, std::uint32_t n, std::uint64_t count,
                    std::uint64_t first_element);
  // The mask of the next MASKED_TRIPLE_*_k_n instance of the batch (nullopt: rule 3). Takes
  // nothing.
  std::optional<MaskRef> next(std::uint32_t k, std::uint32_t n) const;
  // Takes the next `count` MASKED_TRIPLE_*_k_n instances: those paired by rule 2 move j on.
  void take(std::uint32_t k, std::uint32_t n, std::uint64_t count);
  // Instance j mod N_kn of WEIGHT_MASK_k_n in the mask plan; N_kn must be > 0.
  MaskRef in_mask_plan(std::uint32_t k, std::uint32_t n, std::uint64_t j) const;

 private:
  struct Run {  // consecutive mask-plan instances of one shape
    std::uint64_t first_id, ordinal, first_element, count;
  };
  struct Shape {
    std::vector<Run> mask_plan;  // by first_id
    std::uint64_t mask_plan_count = 0;
    std::uint64_t batch_count = 0;  // WEIGHT_MASK instances in the batch so far
    std::optional<MaskRef> last_in_batch;
    std::uint64_t unpaired = 0;  // j: MASKED_TRIPLE instances paired by rule 2 so far
  };
  std::map<std::pair<std::uint32_t, std::uint32_t>, Shape> shapes_;
  std::uint64_t next_ordinal_ = 0;  // the batch's masks number on after the mask plan's
};

// The rule applied to a whole batch plan, for random access by (item, instance).
class MaskPairing {
 public:
  // An unpaired MASKED_TRIPLE is not an error here (mask_of and require_all_paired say so), so
  // that a consumer may fail where it would use it, with its own error code. Neither plan need
  // outlive the pairing.
  explicit MaskPairing(const MaterialPlan& batch, const MaterialPlan* mask_plan = nullptr);

  // For instance `inst` of plan item `item`: a MASKED_TRIPLE's mask, or a WEIGHT_MASK's own
  // name; nullopt for an unpaired MASKED_TRIPLE. Error(invalid_argument) for an item of another
  // kind or an instance out of range.
  std::optional<MaskRef> find(std::size_t item, std::uint64_t inst) const;
  // find(), with an unpaired MASKED_TRIPLE an Error(invalid_argument) naming the item.
  MaskRef mask_of(std::size_t item, std::uint64_t inst) const;
  // Error(invalid_argument) naming the first MASKED_TRIPLE item without a mask.
  void require_all_paired() const;

 private:
  struct Item {
    PlanItem item;
    std::optional<MaskRef> first;  // of instance 0; nullopt: unpaired, or not a mask kind
    bool cycles = false;           // instance i pairs with mask-plan instance j0 + i
    std::uint64_t j0 = 0;
  };
  MaskPairer pairer_;
  std::vector<Item> items_;
};

// The WEIGHT_MASK items of a first-pass plan, in order, consecutive items of one type merged:
// the model's mask plan. Error(invalid_argument) if it has none.
MaterialPlan mask_plan_of(const MaterialPlan& first_pass);
// Everything else, in order and merged alike: what a later pass consumes once the masks are
// held outside the batch. Error(invalid_argument) if nothing is left.
MaterialPlan batch_plan_of(const MaterialPlan& first_pass);

}  // namespace ppi::material
