#include "model_owner/online_service.hpp"

#include <grpcpp/server_builder.h>

#include <chrono>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "compute/ring_kernels.hpp"
#include "core/ids.hpp"
#include "crypto/sha256.hpp"
#include "grpc/grpc_tls.hpp"
#include "grpc/share_service.hpp"
#include "inference/gpt2_program.hpp"
#include "inference/mlp_program.hpp"
#include "model/gpt2.hpp"
#include "model/mlp.hpp"
#include "model/safetensors.hpp"
#include "mpc/batch_share.hpp"
#include "mpc/party.hpp"
#include "obs/catalog.hpp"
#include "obs/log.hpp"
#include "online/stream_channel.hpp"

namespace ppi::model_owner {

using ppi::online::v1::OnlineMessage;

namespace {

std::string seconds_since(std::chrono::steady_clock::time_point start) {
  return std::to_string(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

// The model owner's side of one model's program, loaded: what Accept tells the client, the
// fixed-point parameters, and the run as party 0.
struct Program {
  int frac_bits = 0, magnitude_bits = 0;
  std::string size_field, size;  // for the log: rows of an MLP, the bucket of a GPT-2
  std::function<void(mpc::Party&)> run;
};

Program mlp_program(const OnlineModel& model, ppi::online::v1::Accept& a) {
  auto graph =
      std::make_shared<model::MlpGraph>(model::load_mlp(model::parse_safetensors(model.weights)));
  const ModelSettings s = model.settings;
  a.set_model_kind("mlp");
  a.set_shape_json(inference::MlpShape::of(*graph).to_json().dump());
  a.set_rows(s.input_rows);
  return {graph->frac_bits, graph->magnitude_bits, "rows", std::to_string(s.input_rows),
          [graph, s](mpc::Party& p) {
            inference::run_mlp_model_owner(p, *graph, s.input_rows, s.reveal_logits);
          }};
}

// Names F = W - B for the client, which keeps it per (model, dealer group): it changes with the
// weights file and with the mask set.
std::string weights_id_of(const Sha256Digest& file_digest, const std::string& mask_set_id) {
  Sha256 h;
  h.update(as_bytes("ppi held weights v1\n"));
  h.update(file_digest);
  h.update(as_bytes(mask_set_id));
  return to_hex(h.finish());
}

// The model owner's side of a GPT-2 session. With a mask set (the model registered with a
// mask plan), the masks come from the model owner's share of it and F is sent only when the
// client's Start does not name it as held (docs/protocol.md 6.2); otherwise the batch carries
// the masks and F goes with every session.
Program gpt2_program(const OnlineModel& model, const LoadedGpt2& loaded,
                     std::shared_ptr<MaskSetShare> mask_set, const std::string& held_id,
                     ppi::online::v1::Accept& a) {
  const model::Gpt2Shape shape = model::Gpt2Shape::of(*loaded.weights);
  const inference::Gpt2PassOptions options = gpt2_pass_options(model.settings);
  inference::check_pass_options(shape, options);
  a.set_model_kind("gpt2");
  a.set_shape_json(shape.to_json().dump());
  a.set_bucket(options.bucket);
  a.set_top_k(options.top_k);
  a.set_steps(options.steps);
  bool held = false;
  if (mask_set) {
    a.set_mask_plan_json(mask_set->plan_json);
    a.set_weights_id(weights_id_of(loaded.file_digest, mask_set->mask_set_id));
    held = !held_id.empty() && held_id == a.weights_id();
    a.set_weights_held(held);
  }
  return {shape.frac_bits, mpc::kMaxMagnitudeBits, "bucket", std::to_string(options.bucket),
          [weights = loaded.weights, shape, options, mask_set, held](mpc::Party& p) {
            // A generation's steps follow the pass as long as the client asks for them.
            auto run = [&](inference::Gpt2Session& session) {
              inference::run_gpt2_generation(p, session, {}, options, {});
            };
            if (!mask_set) {
              inference::Gpt2Session session(shape, weights.get());
              run(session);
              return;
            }
            const material::MaterialPlan mask_plan =
                material::MaterialPlan::parse(mask_set->plan_json);
            // The session's own copy, read for it: moved, not copied (it is the size of the
            // weights).
            const mpc::BatchShare share(mask_plan, mask_set->mac_key_share,
                                        std::move(mask_set->elements));
            mpc::MaskSetCursor masks(mask_plan, &share);
            inference::Gpt2Session session(shape, weights.get(), {&masks, held, {}});
            run(session);
          }};
}

}  // namespace

LoadedGpt2 OnlineService::gpt2_weights(const std::string& model_id, const OnlineModel& model) {
  const Sha256Digest digest = sha256(model.weights);
  {
    std::lock_guard lock(mu_);
    auto it = gpt2_cache_.find(model_id);
    if (it != gpt2_cache_.end() && it->second.file_digest == digest) return it->second;
  }
  const model::Gpt2Config config =
      model::parse_gpt2_config(nlohmann::json::parse(model.settings.config_json));
  LoadedGpt2 loaded{
      digest,
      std::make_shared<const model::Gpt2FixedWeights>(model::encode_gpt2(
          model::fold_gpt2(model::load_gpt2(config, model::parse_safetensors(model.weights))),
          mpc::kDefaultFracBits))};
  std::lock_guard lock(mu_);
  gpt2_cache_[model_id] = loaded;
  return loaded;
}

grpc::Status OnlineService::Run(grpc::ServerContext* context,
                                grpc::ServerReaderWriter<OnlineMessage, OnlineMessage>* stream) {
  const auto started = std::chrono::steady_clock::now();
  const std::string caller = grpcsvc::peer_identity(*context);
  std::string batch_id;
  bool begun = false;
  // Once the batch is claimed, any failure marks it failed and deletes the share; recording
  // that must not throw out of the gRPC handler.
  const auto record_failure = [&](const std::string& reason) {
    if (!begun) return;
    try {
      store_->fail_online(batch_id, reason);
    } catch (const std::exception& again) {
      log::warn("online_fail_record", {{"batch_id", batch_id}, {"reason", again.what()}});
    }
  };
  try {
    OnlineMessage first;
    if (!stream->Read(&first) || !first.has_start()) {
      throw Error(Errc::invalid_argument, "an online session starts with a Start message");
    }
    batch_id = first.start().batch_id();
    check_batch_id(batch_id);
    OnlineBatch batch = store_->begin_online(batch_id, caller);
    begun = true;
    const obs::catalog::ActiveSession active;
    const OnlineModel model = store_->online_model(batch.model_id);
    const material::MaterialPlan plan = material::MaterialPlan::parse(model.plan_json);

    OnlineMessage accept;
    auto* a = accept.mutable_accept();
    Program program;
    std::optional<mpc::BatchCursor> material;
    if (model.settings.kind == ModelKind::gpt2) {
      std::shared_ptr<MaskSetShare> mask_set;
      if (!model.mask_plan_json.empty()) {
        auto held = store_->mask_set(batch.model_id, batch.group_id);
        if (!held) {
          throw Error(Errc::conflict, "the model owner holds no mask set of model '" +
                                          batch.model_id + "' for dealer group " + batch.group_id);
        }
        mask_set = std::make_shared<MaskSetShare>(std::move(*held));
      }
      program = gpt2_program(model, gpt2_weights(batch.model_id, model), mask_set,
                             first.start().held_weights_id(), *a);
    } else {
      program = mlp_program(model, *a);
    }
    a->set_model_id(batch.model_id);
    a->set_reveal_logits(model.settings.reveal_logits);
    a->set_plan_json(plan.canonical());
    if (!stream->Write(accept)) throw Error(Errc::unavailable, "the client left the session");

    mpc::BatchShare share(plan, batch.share.mac_key_share, std::move(batch.elements));
    std::optional<material::MaterialPlan> mask_plan;
    if (!a->mask_plan_json().empty())
      mask_plan = material::MaterialPlan::parse(a->mask_plan_json());
    material.emplace(share, mask_plan ? &*mask_plan : nullptr);
    online::StreamChannel channel([stream](OnlineMessage& m) { return stream->Read(&m); },
                                  [stream](const OnlineMessage& m) { return stream->Write(m); },
                                  "client '" + caller + "'");
    auto kernels = compute::make_best_kernels();
    mpc::Party party(mpc::Role::model_owner, channel, *material, *kernels, program.frac_bits,
                     program.magnitude_bits);
    program.run(party);
    store_->finish_online(batch_id, channel.rounds(), channel.bytes_sent(),
                          channel.bytes_received());
    obs::catalog::online_done(std::chrono::steady_clock::now() - started, channel.rounds(),
                              channel.bytes_sent() + channel.bytes_received());
    log::info("online_done", {{"batch_id", batch_id},
                              {"model_id", batch.model_id},
                              {"model_kind", kind_name(model.settings.kind)},
                              {program.size_field, program.size},
                              {"rounds", std::to_string(channel.rounds())},
                              {"bytes_sent", std::to_string(channel.bytes_sent())},
                              {"bytes_received", std::to_string(channel.bytes_received())},
                              {"seconds", seconds_since(started)}});
    return grpc::Status::OK;
  } catch (const Error& e) {
    record_failure(e.what());
    obs::catalog::online_sessions().with({begun ? "failed" : "refused"}).inc();
    log::warn("online_refused", {{"batch_id", batch_id}, {"client", caller}, {"reason", e.what()}});
    return grpcsvc::to_status(e);
  } catch (const std::exception& e) {
    record_failure(std::string("internal: ") + e.what());
    obs::catalog::online_sessions().with({"failed"}).inc();
    obs::catalog::count_error(Errc::internal);
    log::error("online_failed", {{"batch_id", batch_id}, {"reason", e.what()}});
    return grpc::Status(grpc::StatusCode::INTERNAL, "the model owner failed");
  }
}

}  // namespace ppi::model_owner
