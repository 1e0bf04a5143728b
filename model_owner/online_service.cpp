#include "model_owner/online_service.hpp"

#include <chrono>

#include "compute/ring_kernels.hpp"
#include "core/ids.hpp"
#include "grpc/grpc_tls.hpp"
#include "inference/mlp_program.hpp"
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
    model::MlpGraph graph = model::load_mlp(model::parse_safetensors(model.weights));
    const material::MaterialPlan plan = material::MaterialPlan::parse(model.plan_json);

    OnlineMessage accept;
    auto* a = accept.mutable_accept();
    a->set_model_id(batch.model_id);
    a->set_shape_json(inference::MlpShape::of(graph).to_json().dump());
    a->set_rows(model.input_rows);
    a->set_reveal_logits(model.reveal_logits);
    a->set_plan_json(plan.canonical());
    if (!stream->Write(accept)) throw Error(Errc::unavailable, "the client left the session");

    mpc::BatchShare share(plan, batch.share.mac_key_share, std::move(batch.elements));
    mpc::BatchCursor material(share);
    online::StreamChannel channel([stream](OnlineMessage& m) { return stream->Read(&m); },
                                  [stream](const OnlineMessage& m) { return stream->Write(m); },
                                  "client " + caller);
    auto kernels = compute::make_best_kernels();
    mpc::Party party(mpc::Role::model_owner, channel, material, *kernels, graph.frac_bits,
                     graph.magnitude_bits);
    inference::run_mlp_model_owner(party, graph, model.input_rows, model.reveal_logits);
    store_->finish_online(batch_id, channel.rounds(), channel.bytes_sent(),
                          channel.bytes_received());
    log::info("online_done", {{"batch_id", batch_id},
                              {"model_id", batch.model_id},
                              {"rows", std::to_string(model.input_rows)},
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
