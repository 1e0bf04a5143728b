#pragma once
// The super dealer's database: dealers, models with their material plans, and the batch pool.
// bind_batch hands each available batch out at most once, whatever the concurrency: the row is
// claimed with SELECT ... FOR UPDATE SKIP LOCKED and updated in the same transaction. A model
// with a mask plan also has one mask set per dealer group (a batches row of kind 'mask_set'),
// bound to its model owner alone by bind_mask_set.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/database.hpp"

namespace ppi::super_dealer {

struct DealerRecord {
  std::string dealer_id, rest_url, grpc_endpoint;
};

struct ModelRecord {
  std::string model_id, owner, plan_json;
  std::uint64_t element_count = 0;
  std::string mask_plan_json;  // canonical JSON; empty: the model has no mask plan
};

// A plan as the database keeps it: type names and counts, and each type's elements.
struct PlanRows {
  std::vector<std::pair<std::string, std::uint64_t>> items;
  std::vector<std::uint64_t> elements_per_item;
};

// What bind_mask_set found for (model, group).
struct MaskSetBinding {
  std::string mask_set_id;
  std::string state;  // 'bound' (now or before, to this model owner) or 'generating'
};

struct BatchRecord {
  std::string batch_id, model_id, dealer_group, state, model_owner, client;
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> bound_at_ms;  // none until bound
};

// A failed batch whose dealers were not all told that it failed.
struct UntoldFailure {
  std::string batch_id, dealer_group;
};

// A binding committed here that its dealers may not all have (kind 'batch' or 'mask_set').
struct UntoldBinding {
  std::string batch_id, dealer_group, kind, model_owner, client;
};

class RegistryStore {
 public:
  explicit RegistryStore(std::shared_ptr<db::Database> db) : db_(std::move(db)) {}

  void upsert_dealer(const DealerRecord& dealer);
  std::vector<DealerRecord> dealers();
  // The records of the given ids, in the same order; Error(not_found) names a missing one.
  std::vector<DealerRecord> dealers(const std::vector<std::string>& ids);

  // Registers a model with its plan and its mask plan (empty items: none). Registering it
  // again with the same owner and plans is accepted; anything else is Error(conflict).
  void register_model(const ModelRecord& model, const PlanRows& plan, const PlanRows& mask_plan);
  std::optional<ModelRecord> model(const std::string& model_id);

  // A batch of material that every dealer of the group holds: available from now on.
  void add_available_batch(const std::string& batch_id, const std::string& model_id,
                           const std::string& dealer_group);
  // Claims one available batch (never a mask set) of (model, group) for (model owner, client);
  // nullopt if none.
  std::optional<std::string> bind_batch(const std::string& model_id, const std::string& group,
                                        const std::string& model_owner, const std::string& client);
  // The mask set of (model, group), not failed: an available one is bound to `model_owner`
  // here, in one transaction; one bound to it before is found again. nullopt if there is none;
  // Error(conflict) if it is bound to another identity.
  std::optional<MaskSetBinding> bind_mask_set(const std::string& model_id, const std::string& group,
                                              const std::string& model_owner);
  void mark_failed(const std::string& batch_id, const std::string& reason = "");
  // Every dealer of the batch's group took its latest state: its binding, or (a failed batch)
  // that it failed (docs/protocol.md, Reconciliation).
  void mark_dealers_told(const std::string& batch_id);
  // Failed batches whose dealers were not all told so: dealers_told_at is set when a binding
  // is told, so a batch that failed before or instead has none.
  std::vector<UntoldFailure> untold_failures();
  // Bound batches and mask sets whose dealers were not all told, as of now: at start-up, those a
  // previous run left between its bind commit and its calls to the dealers.
  std::vector<UntoldBinding> untold_bindings();
  std::optional<BatchRecord> batch(const std::string& batch_id);
  std::int64_t count_batches(const std::string& model_id, const std::string& state);

 private:
  std::shared_ptr<db::Database> db_;
};

}  // namespace ppi::super_dealer
