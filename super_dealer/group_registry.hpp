#pragma once
// The super dealer's record of dealer groups, batch pools and generations (migration
// 003_groups). It holds no key and no material: only who is in which group, which pools to
// keep full, and the state of each generated batch.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "db/database.hpp"

namespace ppi::super_dealer {

struct GroupRecord {
  std::string group_id, state, error;
  std::vector<std::string> members;  // the group's order
};

struct PoolRecord {
  std::string model_id, group_id;
  std::int64_t generated_total = 0, failed_total = 0;
  std::string last_error;
};

struct Generation {
  std::string batch_id, model_id, group_id;
  std::int64_t started_unix = 0;
  std::string kind = "batch";  // or "mask_set": the model's weight masks for the group
};

class GroupRegistry {
 public:
  explicit GroupRegistry(std::shared_ptr<db::Database> db) : db_(std::move(db)) {}

  // Records a group as forming (or returns the existing one, whose members are the same since
  // the id is their canonical key).
  GroupRecord create_group(const std::string& group_id, const std::vector<std::string>& members,
                           const std::string& created_by);
  void mark_group(const std::string& group_id, bool ready, const std::string& error);
  std::optional<GroupRecord> group(const std::string& group_id);
  std::vector<GroupRecord> groups();

  // Error(conflict) when the group is not ready; adding it again is a no-op.
  void add_pool(const std::string& model_id, const std::string& group_id);
  std::vector<PoolRecord> pools();
  // The pool's batches (never its mask set) in `state`.
  std::int64_t count(const std::string& model_id, const std::string& group_id,
                     const std::string& state);
  // The (model, group)'s mask sets in any state but 'failed'.
  std::int64_t live_mask_sets(const std::string& model_id, const std::string& group_id);

  // A batch (or mask set) of the pool that the group is asked to generate: 'generating' from
  // now on.
  void begin_generation(const Generation& g);
  std::vector<Generation> generating();
  // Every member prepared: available. Only a generating batch changes; false otherwise.
  bool mark_generated(const Generation& g);
  // One member failed or the deadline passed: failed, never bound.
  bool mark_generation_failed(const Generation& g, const std::string& error);

  // For Retry-After on an empty pool (issue 14 item 5): seconds until (model, group) likely
  // has a batch again. A running generation's remaining time, judged by how long the pool's
  // last generation took (kUnknownGenerationSeconds before this process has seen one); when
  // none runs, the keeper's next pass (`keeper_interval`) plus that time. nullopt when no pool
  // of (model, group) exists: then nothing will come until the operator adds one.
  std::optional<std::int64_t> refill_estimate(const std::string& model_id,
                                              const std::string& group_id,
                                              std::chrono::milliseconds keeper_interval);
  static constexpr std::int64_t kUnknownGenerationSeconds = 10;

 private:
  std::shared_ptr<db::Database> db_;
  std::mutex mutex_;
  // (model, group) -> seconds its last generation took, as this process saw it finish.
  std::map<std::pair<std::string, std::string>, std::int64_t> last_generation_seconds_;
};

}  // namespace ppi::super_dealer
