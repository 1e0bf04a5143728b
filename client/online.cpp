#include "client/online.hpp"

#include <grpcpp/create_channel.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "compute/ring_kernels.hpp"
#include "grpc/grpc_tls.hpp"
#include "inference/mlp_program.hpp"
#include "material/conversion.hpp"
#include "material/layout.hpp"
#include "mpc/batch_share.hpp"
#include "mpc/party.hpp"
#include "online/stream_channel.hpp"
#include "proto/online.grpc.pb.h"
#include "ring/fixed_point.hpp"

namespace ppi::client {

using ppi::online::v1::OnlineMessage;

namespace {

// The client's 2PC share of the batch, expanded from its seeds.
mpc::BatchShare expand_share(const Conversion& c, const material::MaterialPlan& plan) {
  std::vector<Seed128> seeds;
  std::vector<u128> masks;
  for (const DealerSeed& d : c.seeds) {
    seeds.push_back(d.shares_seed);
    masks.push_back(d.mac_key_mask);
  }
  material::ClientShareExpander expander(std::move(seeds), std::move(masks));
  Bytes elements(32 * plan.element_count());
  expander.expand(material::BatchLayout(plan), 0, elements);
  return mpc::BatchShare(plan, expander.mac_key_share(), std::move(elements));
}

// What the model owner announces must be the batch this client converted, and fit its input.
void check_accept(const ppi::online::v1::Accept& a, const Conversion& c,
                  const material::MaterialPlan& plan, const inference::MlpShape& shape,
                  const online::InputRows& inputs) {
  if (a.model_id() != c.model_id) {
    throw Error(Errc::invalid_argument, "the model owner runs model '" + a.model_id() +
                                            "', this batch is for '" + c.model_id + "'");
  }
  if (plan.element_count() != c.element_count) {
    throw Error(Errc::invalid_argument,
                "the model owner's plan has " + std::to_string(plan.element_count()) +
                    " elements, the batch " + std::to_string(c.element_count));
  }
  if (inputs.count == 0 || inputs.count > a.rows()) {
    throw Error(Errc::invalid_argument, "model " + c.model_id + " takes 1 to " +
                                            std::to_string(a.rows()) + " input rows, got " +
                                            std::to_string(inputs.count));
  }
  if (inputs.values.size() != inputs.count * shape.input_dim) {
    throw Error(Errc::invalid_argument,
                "each input row must hold " + std::to_string(shape.input_dim) + " values");
  }
}

OnlineResult run_session(const OnlineSettings& settings, const Conversion& c,
                         const online::InputRows& inputs,
                         const std::function<void(std::string_view)>& progress) {
  const auto started = std::chrono::steady_clock::now();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(8 * online::kMaxWords + 1024));
  auto stub = ppi::online::v1::OnlineInference::NewStub(grpc::CreateCustomChannel(
      settings.model_owner_endpoint, grpcsvc::channel_credentials(settings.tls), args));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + settings.timeout);
  auto stream = stub->Run(&context);
  const std::string peer = "model owner (" + settings.model_owner_endpoint + ")";
  // A refused or broken stream ends with the model owner's status: that is the error to give.
  auto failed = [&]() -> Error {
    stream->WritesDone();
    return grpcsvc::from_status(stream->Finish(), peer);
  };

  OnlineMessage start;
  start.mutable_start()->set_batch_id(c.batch_id);
  OnlineMessage accept;
  if (!stream->Write(start) || !stream->Read(&accept)) throw failed();
  if (!accept.has_accept()) {
    throw Error(Errc::invalid_argument, peer + " did not answer Start with Accept");
  }
  const auto& a = accept.accept();
  const auto shape = inference::MlpShape::from_json(nlohmann::json::parse(a.shape_json()));
  const auto plan = material::MaterialPlan::parse(a.plan_json());
  check_accept(a, c, plan, shape, inputs);

  progress("expanding " + std::to_string(c.seeds.size()) +
           " dealer seeds into this client's share (" + std::to_string(plan.element_count()) +
           " elements)");
  const mpc::BatchShare share = expand_share(c, plan);
  mpc::BatchCursor material(share);

  // Rows beyond the given inputs are zeros: the batch is made for a.rows() rows.
  std::vector<double> padded(inputs.values);
  padded.resize(std::size_t{a.rows()} * shape.input_dim, 0.0);
  const FixedPoint fp(shape.frac_bits);
  const std::vector<u64> encoded = fp.encode(padded);

  progress("online phase with the " + peer + ": " + std::to_string(a.rows()) + " row(s), " +
           std::to_string(shape.layers.size()) + " layers");
  online::StreamChannel channel([&](OnlineMessage& m) { return stream->Read(&m); },
                                [&](const OnlineMessage& m) { return stream->Write(m); }, peer);
  auto kernels = compute::make_best_kernels();
  mpc::Party party(mpc::Role::client, channel, material, *kernels, shape.frac_bits,
                   shape.magnitude_bits);
  inference::MlpResult r;
  try {
    r = inference::run_mlp_client(party, shape, encoded, a.rows(), a.reveal_logits());
  } catch (const Error& e) {
    if (e.code() == Errc::unavailable) throw failed();
    throw;
  }
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  if (!status.ok()) throw grpcsvc::from_status(status, peer);

  OnlineResult out;
  out.model_id = c.model_id;
  out.classes_per_row = shape.classes;
  out.classes.assign(r.classes.begin(), r.classes.begin() + static_cast<long>(inputs.count));
  if (!r.logits.empty()) {  // only the given rows, not the zero padding
    out.logits = fp.decode(std::span<const u64>(r.logits).first(inputs.count * shape.classes));
  }
  out.rounds = channel.rounds();
  out.bytes_sent = channel.bytes_sent();
  out.bytes_received = channel.bytes_received();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

}  // namespace

OnlineResult run_online(ClientStore& store, const OnlineSettings& settings,
                        const std::string& batch_id, const online::InputRows& inputs,
                        const std::function<void(std::string_view)>& progress) {
  const Conversion c = store.begin_online(batch_id);
  try {
    OnlineResult out = run_session(settings, c, inputs, progress);
    nlohmann::json result = {{"classes", out.classes}};
    if (!out.logits.empty()) result["logits"] = out.logits;
    store.finish_online(batch_id, result.dump());
    return out;
  } catch (const std::exception& e) {
    store.fail_online(batch_id, e.what());
    throw;
  }
}

}  // namespace ppi::client
