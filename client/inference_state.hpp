#pragma once
// The states of the client's inferences table and the ledger that moves them (docs/audit.md):
//   ready (its seeds stored: converted) -> online -> done (consumed) | failed

#include "ledger/ledger.hpp"

namespace ppi::client {

enum class InferenceState { ready, online, done, failed };

inline constexpr ledger::StateTable<InferenceState, 4> kInferences{
    "inferences", "batch_id", {"ready", "online", "done", "failed"}};

}  // namespace ppi::client
