#include "dealer/generation.hpp"

#include <boost/asio/post.hpp>
#include <chrono>

#include "gen/generate.hpp"
#include "obs/log.hpp"

namespace ppi::dealer {

GenerationRunner::GenerationRunner(GenerationStore& store, GroupStore& groups,
                                   grpcsvc::MeshNetwork& network, std::size_t threads,
                                   std::size_t queue)
    : store_(store),
      groups_(groups),
      network_(network),
      capacity_(threads + queue),
      pool_(threads) {}

GenerationRunner::~GenerationRunner() {
  pool_.stop();
  pool_.join();
}

void GenerationRunner::start(GenerationRequest request) {
  auto group = groups_.find(request.group_id);
  if (!group) throw Error(Errc::not_found, "unknown group " + request.group_id);
  if (group->state != "ready") {
    throw Error(Errc::conflict, "group " + request.group_id + " has not agreed its keys yet");
  }
  if (request.members.size() != group->members.size()) {
    throw Error(Errc::invalid_argument, "the members do not match group " + request.group_id);
  }
  for (std::size_t i = 0; i < request.members.size(); ++i) {
    if (request.members[i].id != group->members[i]) {
      throw Error(Errc::invalid_argument, "the members do not match group " + request.group_id);
    }
  }
  if (pending_.load() >= capacity_) {
    throw Error(Errc::unavailable, "this dealer is generating at capacity; try again later");
  }
  if (!store_.begin(request.batch_id, request.model_id, request.group_id, request.plan,
                    request.mask_plan ? request.mask_plan->canonical() : "", request.kind)) {
    return;  // the super dealer's retry: it is queued or done already
  }
  ++pending_;
  const std::size_t self = group->self;
  boost::asio::post(pool_, [this, request = std::move(request), self] {
    run(request, self);
    --pending_;
  });
}

void GenerationRunner::cancel(const std::string& batch_id) {
  network_.service().close(batch_id);
}

void GenerationRunner::run(const GenerationRequest& request, std::size_t self) {
  const auto started = std::chrono::steady_clock::now();
  try {
    if (const auto state = store_.state(request.batch_id); !state || state->state != "generating") {
      log::info("generation_skipped",
                {{"batch_id", request.batch_id}, {"state", state ? state->state : "unknown"}});
      return;
    }
    gen::GroupKeys keys = groups_.keys(request.group_id);
    std::uint64_t sent = 0;
    Bytes share;
    {
      auto mesh = network_.session(request.batch_id, request.members, self);
      share = gen::generate_batch(
          request.plan, keys,
          {request.group_id, request.model_id, request.batch_id, request.mask_plan}, *mesh);
      sent = mesh->bytes_sent();
    }  // the mesh flushes what it still has to send before the share is stored
    const bool kept = store_.prepare(request.batch_id, share);
    cleanse(share);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log::info(kept ? "generation_prepared" : "generation_dropped",
              {{"batch_id", request.batch_id},
               {"kind", request.kind},
               {"group_id", request.group_id},
               {"elements", std::to_string(request.plan.element_count())},
               {"mesh_bytes_sent", std::to_string(sent)},
               {"seconds", std::to_string(seconds)}});
  } catch (const std::exception& e) {
    log::warn("generation_failed", {{"batch_id", request.batch_id}, {"reason", e.what()}});
    try {
      store_.fail(request.batch_id, e.what());
    } catch (const std::exception& again) {
      log::error("generation_fail_unrecorded",
                 {{"batch_id", request.batch_id}, {"reason", again.what()}});
    }
  }
}

}  // namespace ppi::dealer
