#pragma once
// The dealer's side of two-phase generation in its database (batches, batch_chunks):
//   begin    -> 'generating' (no material yet; the share is built in memory)
//   prepare  -> 'prepared': the share's chunks and the state change in one transaction, so a
//               prepared batch is durably whole; the super dealer marks it available once
//               every member has prepared, and only then binds it
//   fail     -> 'failed' with the reason; chunks deleted (abort, or a local error)
// A dealer that restarts fails every batch still 'generating' (discard_unfinished).

#include <memory>
#include <optional>
#include <string>

#include "db/database.hpp"
#include "material/plan.hpp"

namespace ppi::dealer {

struct GenerationState {
  std::string state;  // generating | prepared | failed | available | bound | ...
  std::string error;  // why it failed, when it did
};

class GenerationStore {
 public:
  explicit GenerationStore(std::shared_ptr<db::Database> db) : db_(std::move(db)) {}

  // Records a batch (or mask set: `kind`) being generated, with the mask plan it pairs with
  // (canonical JSON, "" for none). The same request again is a no-op (false); a batch id that
  // exists for anything else is Error(conflict). True when newly recorded.
  bool begin(const std::string& batch_id, const std::string& model_id, const std::string& group_id,
             const material::MaterialPlan& plan, const std::string& mask_plan,
             const std::string& kind);
  // Stores this member's share and marks the batch prepared, if it is still generating
  // (false when it was aborted meanwhile: the share is dropped).
  bool prepare(const std::string& batch_id, ByteView share);
  // Marks a generating or prepared batch failed and deletes its material.
  void fail(const std::string& batch_id, const std::string& reason);
  std::optional<GenerationState> state(const std::string& batch_id);
  // At start-up: every batch left 'generating' by a previous run is failed; returns how many.
  std::int64_t discard_unfinished();

 private:
  std::shared_ptr<db::Database> db_;
};

}  // namespace ppi::dealer
