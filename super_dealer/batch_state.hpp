#pragma once
// The states of the super dealer's batches table and the ledger that moves them
// (docs/audit.md): generating -> available -> bound, generating -> failed, and bound -> failed
// when a dealer refused a binding. Consumption happens on the other actors; their ledgers
// record it.

#include "ledger/ledger.hpp"

namespace ppi::super_dealer {

enum class BatchState { generating, available, bound, consumed, expired, failed };

inline constexpr ledger::StateTable<BatchState, 6> kBatches{
    "batches", "batch_id", {"generating", "available", "bound", "consumed", "expired", "failed"}};

}  // namespace ppi::super_dealer
