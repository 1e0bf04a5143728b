#pragma once
// Internal to generate.cpp: one generator per material type. Each writes this member's share
// of the instances it handles into the ShareBuffer, posts what the next sub-group needs to the
// Exchange, and returns what is left to do once the round's messages are in (or nothing).

#include <cstdint>
#include <functional>
#include <string_view>

#include "gen/exchange.hpp"
#include "gen/generate.hpp"
#include "gen/rss.hpp"
#include "gen/session.hpp"
#include "gen/share_buffer.hpp"
#include "material/mask_pairing.hpp"
#include "material/plan.hpp"

namespace ppi::gen {

struct BatchContext {
  const Session& session;
  const GenerationContext& context;
  ShareBuffer& out;
  Exchange& exchange;
  const material::MaskPairing& masks;  // the B of each WEIGHT_MASK and MASKED_TRIPLE instance
  u128 alpha1 = 0, alpha2 = 0;         // this member's components of the batch's MAC key

  const Roles& roles() const { return session.roles(); }
  // Per-batch randomness: bound to the group, the batch, the purpose and the plan item.
  Domain batch(std::string_view purpose, std::uint64_t item) const {
    Domain d("batch");
    d.add(session.group_id()).add(context.batch_id).add(purpose).add(item);
    return d;
  }
};

struct ItemRef {
  std::size_t index = 0;  // position in the plan
  const material::PlanItem* item = nullptr;
  std::uint64_t first_element = 0;  // of the item's first instance
  Range mine;                       // the instances this member handles
};

using Finisher = std::function<void()>;

Finisher generate_triples(BatchContext& b, const ItemRef& it);
Finisher generate_matrix_triples(BatchContext& b, const ItemRef& it);
Finisher generate_weight_masks(BatchContext& b, const ItemRef& it);
Finisher generate_masked_triples(BatchContext& b, const ItemRef& it);
Finisher generate_bit_triples(BatchContext& b, const ItemRef& it);
Finisher generate_dabits(BatchContext& b, const ItemRef& it);
Finisher generate_truncs(BatchContext& b, const ItemRef& it);

// Writes `value` (this member's additive share of each value) with the MAC share
// alpha1 (x1 + x2) + alpha2 x1 of the replicated sharing (x1, x2) of the same values; value
// i goes to element first + (i / width) * stride + i % width.
void put_macd(BatchContext& b, std::span<const u128> value, std::span<const u128> x1,
              std::span<const u128> x2, std::uint64_t first, std::uint64_t stride,
              std::uint64_t width);

// The MAC'd output of a replicated sharing: value component slot1, MAC share
// alpha1 (x1 + x2) + alpha2 x1. Instance i's value j goes to element
// first + i * stride + offset + j for j < width.
void put_shared(BatchContext& b, const Components& x, std::uint64_t first, std::uint64_t stride,
                std::uint64_t width);

}  // namespace ppi::gen
