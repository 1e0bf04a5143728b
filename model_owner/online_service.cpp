#include "model_owner/online_service.hpp"

#include <grpcpp/server_builder.h>

#include <chrono>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "compute/ring_kernels.hpp"
#include "core/ids.hpp"
#include "grpc/grpc_tls.hpp"
#include "grpc/share_service.hpp"
#include "inference/gpt2_program.hpp"
#include "inference/mlp_program.hpp"
#include "model/gpt2.hpp"
#include "model/mlp.hpp"
#include "model/safetensors.hpp"
#include "mpc/batch_share.hpp"
#include "mpc/party.hpp"
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

Program gpt2_program(const OnlineModel& model, ppi::online::v1::Accept& a) {
  const model::Gpt2Config config =
      model::parse_gpt2_config(nlohmann::json::parse(model.settings.config_json));
  auto weights = std::make_shared<model::Gpt2FixedWeights>(model::encode_gpt2(
      model::fold_gpt2(model::load_gpt2(config, model::parse_safetensors(model.weights))),
      mpc::kDefaultFracBits));
  const model::Gpt2Shape shape = model::Gpt2Shape::of(*weights);
  const inference::Gpt2PassOptions options = gpt2_pass_options(model.settings);
  inference::check_pass_options(shape, options);
  a.set_model_kind("gpt2");
  a.set_shape_json(shape.to_json().dump());
  a.set_bucket(options.bucket);
  a.set_top_k(options.top_k);
  return {shape.frac_bits, mpc::kMaxMagnitudeBits, "bucket", std::to_string(options.bucket),
          [weights, shape, options](mpc::Party& p) {
            // A fresh session: this batch carries the weight masks, so F is sent again.
            inference::Gpt2Session session(shape, weights.get());
            inference::run_gpt2(p, session, {}, options);
          }};
}

}  // namespace

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
    const OnlineModel model = store_->online_model(batch.model_id);
    const material::MaterialPlan plan = material::MaterialPlan::parse(model.plan_json);

    OnlineMessage accept;
    auto* a = accept.mutable_accept();
    const Program program =
        model.settings.kind == ModelKind::gpt2 ? gpt2_program(model, *a) : mlp_program(model, *a);
    a->set_model_id(batch.model_id);
    a->set_reveal_logits(model.settings.reveal_logits);
    a->set_plan_json(plan.canonical());
    if (!stream->Write(accept)) throw Error(Errc::unavailable, "the client left the session");

    mpc::BatchShare share(plan, batch.share.mac_key_share, std::move(batch.elements));
    mpc::BatchCursor material(share);
    online::StreamChannel channel([stream](OnlineMessage& m) { return stream->Read(&m); },
                                  [stream](const OnlineMessage& m) { return stream->Write(m); },
                                  "client '" + caller + "'");
    auto kernels = compute::make_best_kernels();
    mpc::Party party(mpc::Role::model_owner, channel, material, *kernels, program.frac_bits,
                     program.magnitude_bits);
    program.run(party);
    store_->finish_online(batch_id, channel.rounds(), channel.bytes_sent(),
                          channel.bytes_received());
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
    log::warn("online_refused", {{"batch_id", batch_id}, {"client", caller}, {"reason", e.what()}});
    return grpcsvc::to_status(e);
  } catch (const std::exception& e) {
    record_failure(std::string("internal: ") + e.what());
    log::error("online_failed", {{"batch_id", batch_id}, {"reason", e.what()}});
    return grpc::Status(grpc::StatusCode::INTERNAL, "the model owner failed");
  }
}

}  // namespace ppi::model_owner
