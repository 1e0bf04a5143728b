#pragma once
// The states of the model owner's inferences table and the ledger that moves them
// (docs/audit.md):
//   collecting -> ready (its share summed and stored: converted) -> online -> done (consumed)
//   collecting | online -> failed;  ready -> expired (batch.ttl_seconds passed unused)

#include "ledger/ledger.hpp"

namespace ppi::model_owner {

enum class InferenceState { collecting, ready, online, done, failed, expired };

inline constexpr ledger::StateTable<InferenceState, 6> kInferences{
    "inferences", "batch_id", {"collecting", "ready", "online", "done", "failed", "expired"}};

}  // namespace ppi::model_owner
