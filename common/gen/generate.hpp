#pragma once
// One dealer's part of generating a batch (PROTOCOL.md section 4). Every member of the group
// calls generate_batch with the same plan and context at the same time; they talk only
// through the mesh, and each returns its own additive share. No member ever holds a secret.

#include <optional>
#include <string>

#include "core/bytes.hpp"
#include "gen/group_keys.hpp"
#include "gen/mesh.hpp"
#include "material/plan.hpp"

namespace ppi::gen {

struct GenerationContext {
  std::string group_id;  // the dealer group (material/ids: its canonical key)
  std::string model_id;  // long-lived per-model material (weight masks) is bound to it
  std::string batch_id;  // per-batch randomness is bound to it
  // The model's mask plan, for a batch whose MASKED_TRIPLEs pair with masks held outside it
  // (material/mask_pairing.hpp): each is then made with the B that generating the mask plan
  // itself (a mask set, with the same group and model) gives that mask.
  std::optional<material::MaterialPlan> mask_plan = std::nullopt;
};

// The protocol (docs/generation.md): three-way replicated sharing among the sub-groups
// {i : i mod 3 == g}, one communication round. Each member sends one message (possibly
// empty) to each member of the next sub-group and receives one from each member of the
// previous one, all under mesh tag 1: a Mesh must not be shared by two concurrent
// generations. The share is a deterministic function of the keys, the plan and the three ids,
// so a generation interrupted and run again yields the same bytes.
//
// This member's share in the dealer storage layout: 16 bytes alpha_i, then 32 bytes per
// element (docs/material-layout.md): arithmetic and mo_clear elements are additive shares of
// (x~, alpha x~) in Z_2^128, boolean elements XOR shares. Throws Error(unavailable) when a
// member cannot be reached, Error(invalid_argument) on inconsistent keys or plan (a
// MASKED_TRIPLE without a mask, a mask plan with anything but WEIGHT_MASKs), before any message.
Bytes generate_batch(const material::MaterialPlan& plan, const GroupKeys& keys,
                     const GenerationContext& context, Mesh& mesh);

}  // namespace ppi::gen
