#pragma once
// Runs this dealer's part of generating a batch (gen::generate_batch) when the super dealer
// asks, on a bounded pool of threads off the REST and gRPC threads, and records the outcome
// (generation_store.hpp): prepared with the share stored, or failed with the reason.

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <string>
#include <vector>

#include "dealer/dealer_store.hpp"
#include "dealer/generation_store.hpp"
#include "dealer/group_store.hpp"
#include "grpc/mesh_client.hpp"
#include "material/plan.hpp"

namespace ppi::dealer {

struct GenerationRequest {
  std::string batch_id, model_id, group_id;
  material::MaterialPlan plan;
  std::vector<grpcsvc::MeshMember> members;  // the group's order, with current endpoints
  // A batch whose MASKED_TRIPLEs pair with the model's mask set (gen::GenerationContext).
  std::optional<material::MaterialPlan> mask_plan = std::nullopt;
  std::string kind = kBatch;  // kMaskSet: `plan` is the model's mask plan
};

class GenerationRunner {
 public:
  // threads: generations run at once; queue: more accepted while those run.
  GenerationRunner(GenerationStore& store, GroupStore& groups, grpcsvc::MeshNetwork& network,
                   std::size_t threads, std::size_t queue);
  // Abandons queued generations (their batches stay 'generating' and are discarded at the
  // next start) and waits for the running ones.
  ~GenerationRunner();

  // Checks the request against the group (ready, same members in the same order), records
  // the batch and queues the generation. A repeated request is accepted once. Throws
  // Error(unavailable) when the pool is full, not_found / conflict / invalid_argument on a
  // bad request.
  void start(GenerationRequest request);
  // The batch was failed (the super dealer withdrew it): a running generation of it stops at
  // its next receive instead of waiting out the mesh timeout for members that will never
  // come, and a queued one is skipped when its turn comes (run() checks the batch is still
  // generating). Without this, retried generations a member refused would fill the other
  // members' queues with doomed work and keep them at capacity (issue 15 item 3).
  void cancel(const std::string& batch_id);

 private:
  void run(const GenerationRequest& request, std::size_t self);

  GenerationStore& store_;
  GroupStore& groups_;
  grpcsvc::MeshNetwork& network_;
  const std::size_t capacity_;
  std::atomic<std::size_t> pending_{0};
  boost::asio::thread_pool pool_;
};

}  // namespace ppi::dealer
