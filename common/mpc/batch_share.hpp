#pragma once
// One party's 2PC share of a batch (docs/material-layout.md) and the cursor that hands its
// material out to the online operations.
//
// The share is what the conversion leaves each party: the model owner's sum of the dealers'
// masked streams, or the client's expansion of its seeds. Elements are 32 bytes each; the
// semi-honest online phase reads the low 64 bits of arithmetic and mo_clear elements (bytes
// [0, 8)) and the four u64 words of boolean elements.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/bytes.hpp"
#include "material/layout.hpp"
#include "material/mask_pairing.hpp"
#include "material/plan.hpp"
#include "mpc/material_source.hpp"
#include "ring/z2k.hpp"

namespace ppi::mpc {

class BatchShare {
 public:
  static constexpr std::size_t kElementBytes = 32;

  // `elements` must hold exactly 32 * plan.element_count() bytes, else Error(invalid_argument).
  // The bytes are wiped when the share is destroyed.
  BatchShare(material::MaterialPlan plan, u128 mac_key_share, Bytes elements);
  ~BatchShare();
  BatchShare(const BatchShare&) = delete;
  BatchShare& operator=(const BatchShare&) = delete;

  const material::MaterialPlan& plan() const { return plan_; }
  const material::BatchLayout& layout() const { return layout_; }
  u128 mac_key_share() const { return mac_key_share_; }
  std::uint64_t element_count() const { return layout_.element_count(); }

  // The low 64 bits of element e's value share (arithmetic or mo_clear). e < element_count().
  u64 value(std::uint64_t e) const;
  // value(first), ..., value(first + count - 1).
  SecretWords values(std::uint64_t first, std::uint64_t count) const;
  // Word w (0..3) of boolean element e.
  u64 boolean_word(std::uint64_t e, unsigned w) const;

 private:
  material::MaterialPlan plan_;
  material::BatchLayout layout_;
  u128 mac_key_share_;
  Bytes elements_;
};

// Hands out a BatchShare's instances in plan order, each type on its own: the n-th TRIPLE asked
// for is the n-th TRIPLE instance of the batch, whatever other types were asked for between.
// Both parties' programs ask in the same order, so they take matching shares.
//
// A batch whose MASKED_TRIPLEs pair with masks held outside it comes with the model's mask plan;
// its masked_triple then takes WeightMasks handed out by a cursor over the mask set's share
// (whose plan is that mask plan), exactly as material/mask_pairing.hpp pairs them.
class BatchCursor final : public MaterialSource {
 public:
  // `share` must outlive the cursor; `mask_plan` need not. Error(invalid_argument) if the mask
  // plan holds anything but WEIGHT_MASKs.
  explicit BatchCursor(const BatchShare& share, const material::MaterialPlan* mask_plan = nullptr);

  Triples triples(std::size_t count) override;
  Triples matrix_triple(std::uint32_t m, std::uint32_t k, std::uint32_t n) override;
  TruncPairs trunc(std::uint32_t f, std::size_t count) override;
  Dabits dabits(std::size_t count) override;
  BitTriples bit_triples(std::size_t words) override;
  WeightMask weight_mask(std::uint32_t k, std::uint32_t n) override;
  MaskedTriple masked_triple(std::uint32_t m, const WeightMask& mask) override;

  // Instances of `type` not handed out yet (0 for a type outside the plan).
  std::uint64_t remaining(const material::MaterialType& type) const;
  // Instances not handed out yet, all types together; a BIT_TRIPLE item with words left
  // counts as handed out.
  std::uint64_t remaining_total() const;

 private:
  struct Run {
    std::uint64_t first = 0;  // element index of the run's first instance
    std::uint64_t count = 0;
    std::size_t item = 0;  // in the plan
  };
  struct TypeCursor {
    material::MaterialType type;
    std::uint64_t per = 0;  // elements per instance
    std::vector<Run> runs;
    std::size_t run = 0;
    std::uint64_t next = 0;  // instance within runs[run]
    std::uint64_t remaining = 0;
    std::uint64_t taken = 0;
  };

  TypeCursor& require(const material::MaterialType& type, std::uint64_t count,
                      const std::string& unit = "instances");
  // `count` instances of three arithmetic elements (TRIPLE, TRUNC): element j of instance i is
  // out[j][i].
  std::array<SecretWords, 3> take_triplets(const material::MaterialType& type, std::size_t count);
  // First element of the next instance; advances the cursor.
  static std::uint64_t take_one(TypeCursor& tc);

  const BatchShare& share_;
  material::MaskPairing masks_;
  std::vector<TypeCursor> types_;
  // The BIT_TRIPLE instance being used word by word, and the next word of it (4: none left).
  std::uint64_t bit_first_ = 0;
  unsigned bit_word_ = 4;
};

// Hands out the WeightMasks of a model's mask set (material/mask_pairing.hpp) in mask-plan
// order, each shape on its own, as a session's first use of each weight asks for them: the
// model owner's with B from its share of the mask set, the client's (which holds none: its
// share of an mo_clear value is 0) with B empty. The batches the masks pair with come with the
// same mask plan (BatchCursor's second argument).
class MaskSetCursor {
 public:
  // `share` (the model owner's; nullptr for the client) must hold the mask plan and outlive
  // the cursor. Error(invalid_argument) if the plan holds anything but WEIGHT_MASKs or the
  // share another plan.
  MaskSetCursor(const material::MaterialPlan& mask_plan, const BatchShare* share);

  // The next WEIGHT_MASK_k_n instance of the mask set; Error(conflict) once none is left.
  WeightMask weight_mask(std::uint32_t k, std::uint32_t n);

 private:
  material::MaskPairer pairer_;
  const BatchShare* share_;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::pair<std::uint64_t, std::uint64_t>>
      taken_and_count_;
};

}  // namespace ppi::mpc
