#include "client/online.hpp"

#include <grpcpp/create_channel.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <memory>

#include <nlohmann/json.hpp>

#include "compute/ring_kernels.hpp"
#include "core/ids.hpp"
#include "grpc/grpc_tls.hpp"
#include "inference/gpt2_program.hpp"
#include "inference/mlp_program.hpp"
#include "material/conversion.hpp"
#include "material/layout.hpp"
#include "model/gpt2.hpp"
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

Error not_for_mlp(const std::string& model_id) {
  return Error(Errc::invalid_argument,
               "model " + model_id + " is an MLP: it takes --input rows, not tokens");
}

Error not_for_gpt2(const std::string& model_id) {
  return Error(Errc::invalid_argument,
               "model " + model_id + " is a GPT-2: it takes --tokens, not --input rows");
}

Error too_many(const std::string& model_id, std::uint64_t most, std::size_t got, const char* what) {
  return Error(Errc::invalid_argument, "model " + model_id + " takes 1 to " + std::to_string(most) +
                                           " " + what + ", got " + std::to_string(got));
}

Error too_many_new(const std::string& model_id, std::uint64_t most, std::uint64_t got) {
  return Error(Errc::invalid_argument,
               "model " + model_id + " generates at most " + std::to_string(most) +
                   " tokens per inference (its model.max_new_tokens), not " + std::to_string(got));
}

// What the model owner announces must be the batch this client converted.
void check_batch(const ppi::online::v1::Accept& a, const Conversion& c,
                 const material::MaterialPlan& plan) {
  if (a.model_id() != c.model_id) {
    throw Error(Errc::invalid_argument, "the model owner runs model '" + a.model_id() +
                                            "', this batch is for '" + c.model_id + "'");
  }
  if (plan.element_count() != c.element_count) {
    throw Error(Errc::invalid_argument,
                "the model owner's plan has " + std::to_string(plan.element_count()) +
                    " elements, the batch " + std::to_string(c.element_count));
  }
}

nlohmann::json parse_shape(const ppi::online::v1::Accept& a) {
  auto doc = nlohmann::json::parse(a.shape_json(), nullptr, false);
  if (doc.is_discarded()) throw Error(Errc::invalid_argument, "the model's shape is not JSON");
  return doc;
}

// The client's side of one model's program, prepared from Accept and the input, which are
// checked against each other before any material is expanded or anything is sent.
struct Program {
  int frac_bits = 0, magnitude_bits = 0;
  std::string description;  // for the progress line
  std::function<void(mpc::Party&, OnlineResult&)> run;
};

Program mlp_program(const ppi::online::v1::Accept& a, const std::string& model_id,
                    const online::InputRows& inputs) {
  const auto shape = inference::MlpShape::from_json(parse_shape(a));
  if (inputs.count == 0 || inputs.count > a.rows()) {
    throw too_many(model_id, a.rows(), inputs.count, "input rows");
  }
  if (inputs.values.size() != inputs.count * shape.input_dim) {
    throw Error(Errc::invalid_argument,
                "each input row must hold " + std::to_string(shape.input_dim) + " values");
  }
  // Rows beyond the given inputs are zeros: the batch is made for a.rows() rows.
  std::vector<double> padded(inputs.values);
  padded.resize(std::size_t{a.rows()} * shape.input_dim, 0.0);
  const FixedPoint fp(shape.frac_bits);
  const std::uint32_t rows = a.rows();
  const bool reveal = a.reveal_logits();
  const std::size_t given = inputs.count;
  return {
      shape.frac_bits, shape.magnitude_bits,
      std::to_string(rows) + " row(s), " + std::to_string(shape.layers.size()) + " layers",
      [shape, encoded = fp.encode(padded), rows, reveal, given](mpc::Party& p, OnlineResult& out) {
        const inference::MlpResult r = inference::run_mlp_client(p, shape, encoded, rows, reveal);
        out.classes_per_row = shape.classes;
        out.classes.assign(r.classes.begin(), r.classes.begin() + static_cast<long>(given));
        if (!r.logits.empty()) {  // only the given rows, not the zero padding
          out.logits = FixedPoint(shape.frac_bits)
                           .decode(std::span<const u64>(r.logits).first(given * shape.classes));
        }
      }};
}

// Where a GPT-2 session's weight masks come from (docs/protocol.md 6.2): with a mask set, the
// client receives F = W - B once per (model, dealer group) and keeps it.
struct HeldContext {
  ClientStore* store = nullptr;
  std::string model_id, group_id;
  std::optional<std::string> held_id;               // what the Start message said
  std::optional<material::MaterialPlan> mask_plan;  // from Accept; none: the batch has the masks
};

// F of every matrix the mask set covers (the first ones of the session order: wpe is last and
// only a generating model's), from the held words.
std::vector<mpc::SecretWords> split_held(const inference::Gpt2Session& layout,
                                         const HeldWeights& held) {
  std::vector<mpc::SecretWords> out;
  std::size_t at = 0;
  for (std::size_t i = 0; i < layout.matrix_count() && 8 * at < held.words.size(); ++i) {
    const auto [k, n] = layout.matrix_dims(i);
    const std::size_t kn = std::size_t{k} * n;
    if (8 * (at + kn) > held.words.size()) break;
    mpc::SecretWords& f = out.emplace_back(kn);
    std::memcpy(f.data(), held.words.data() + 8 * at, 8 * kn);
    at += kn;
  }
  if (8 * at != held.words.size()) {
    throw Error(Errc::internal,
                "the held weights " + held.weights_id + " do not fit the model's matrices");
  }
  return out;
}

// Every F the session received, in its order.
void keep_weights(const HeldContext& ctx, const std::string& weights_id,
                  const inference::Gpt2Session& session) {
  std::uint64_t words = 0;
  for (std::size_t i = 0; i < session.matrices_shared(); ++i) {
    words += session.complement(i).size();
  }
  ctx.store->hold_weights(ctx.model_id, ctx.group_id, weights_id, words, [&](const auto& write) {
    for (std::size_t i = 0; i < session.matrices_shared(); ++i) {
      const std::span<const u64> f = session.complement(i);
      write(ByteView(reinterpret_cast<const std::uint8_t*>(f.data()), 8 * f.size()));
    }
  });
}

// The tokens a pass or a generation starts from; a generation's limits and stream of tokens.
struct Gpt2Input {
  std::vector<std::uint32_t> ids;
  std::optional<GenerateInput> generate;
};

Program gpt2_program(const ppi::online::v1::Accept& a, const std::string& model_id,
                     const Gpt2Input& tokens, std::shared_ptr<const HeldContext> ctx) {
  const auto shape = model::Gpt2Shape::from_json(parse_shape(a));
  inference::Gpt2PassOptions options;
  options.bucket = a.bucket();
  options.output = inference::Gpt2PassOptions::Output::last;
  options.top_k = a.top_k();
  options.reveal_logits = a.reveal_logits();
  options.steps = a.steps();
  inference::check_pass_options(shape, options);  // the model owner's, so a peer's to check
  inference::check_pass_tokens(shape, options, tokens.ids, model_id);
  if (tokens.generate && tokens.generate->temperature != 0) {
    inference::gumbel_noise(tokens.generate->temperature);  // checks it before the session runs
  }
  if (tokens.generate && tokens.generate->max_tokens > options.steps + 1) {
    throw too_many_new(model_id, options.steps + 1, tokens.generate->max_tokens);
  }
  if (ctx->mask_plan && a.weights_id().empty()) {
    throw Error(Errc::invalid_argument, "the model owner names no weights_id for its mask set");
  }
  if (a.weights_held() && (!ctx->mask_plan || ctx->held_id != a.weights_id())) {
    throw Error(Errc::invalid_argument, "the model owner says this client holds weights " +
                                            a.weights_id() + ", which it does not");
  }
  return {
      shape.frac_bits, mpc::kMaxMagnitudeBits,
      std::string(tokens.generate
                      ? "a GPT-2 generation of up to " +
                            std::to_string(tokens.generate->max_tokens) + " token(s) after "
                      : "one GPT-2 pass, ") +
          std::to_string(tokens.ids.size()) + " token(s) padded to " +
          std::to_string(options.bucket) + ", " + std::to_string(shape.config.n_layer) + " layers" +
          (a.weights_held() ? ", weights held from an earlier session" : ""),
      [shape, options, tokens, ctx, weights_id = a.weights_id(), held = a.weights_held()](
          mpc::Party& p, OnlineResult& out) {
        std::optional<mpc::MaskSetCursor> masks;
        inference::Gpt2MaskSet set;
        if (ctx->mask_plan) {
          masks.emplace(*ctx->mask_plan, nullptr);
          set.masks = &*masks;
          set.held = held;
          if (held) {
            set.held_f = split_held(inference::Gpt2Session(shape, nullptr),
                                    ctx->store->held_weights(weights_id));
          }
        }
        inference::Gpt2Session session(shape, nullptr, std::move(set));
        out.bucket = options.bucket;
        out.classes_per_row = shape.config.vocab_size;
        const auto started = std::chrono::steady_clock::now();
        bool kept = !ctx->mask_plan || held;
        // F is whole once the pass is through: kept for the next session of this group.
        auto keep = [&] {
          if (!kept) keep_weights(*ctx, weights_id, session);
          kept = true;
        };
        if (!tokens.generate) {
          // One pass, of a generating model too: no step taken.
          inference::Gpt2Result r;
          inference::run_gpt2_generation(
              p, session, tokens.ids, options,
              [&](const inference::Gpt2Result& first) -> std::optional<std::uint32_t> {
                r = first;
                return std::nullopt;
              });
          keep();
          out.classes.assign(r.top.begin(), r.top.end());
          if (!r.logits.empty()) out.logits = FixedPoint(shape.frac_bits).decode(r.logits);
          return;
        }
        const GenerateInput& g = *tokens.generate;
        out.generated = true;
        if (g.temperature > 0) session.set_choice_noise(inference::gumbel_noise(g.temperature));
        inference::run_gpt2_generation(
            p, session, tokens.ids, options,
            [&](const inference::Gpt2Result& r) -> std::optional<std::uint32_t> {
              keep();
              const std::uint32_t token = r.top.at(0);
              out.classes.push_back(token);
              if (g.on_token) {
                g.on_token(
                    {token, static_cast<std::uint32_t>(out.classes.size() - 1),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                         .count(),
                     p.channel().rounds(), p.channel().bytes_sent(), p.channel().bytes_received()});
              }
              if (out.classes.size() >= g.max_tokens || (g.stop && token == *g.stop)) {
                return std::nullopt;
              }
              return token;
            });
      }};
}

// A model owner from before GPT-2 sends no kind.
std::string kind_of(const ppi::online::v1::Accept& a) {
  return a.model_kind().empty() ? "mlp" : a.model_kind();
}

// The program the model owner announces, for the input this client was given.
Program prepare(const ppi::online::v1::Accept& a, const Conversion& c,
                const material::MaterialPlan& plan, const OnlineInput& input,
                std::shared_ptr<const HeldContext> ctx) {
  check_batch(a, c, plan);
  const std::string kind = kind_of(a);
  if (kind == "mlp") {
    if (const auto* rows = std::get_if<online::InputRows>(&input)) {
      return mlp_program(a, c.model_id, *rows);
    }
    throw not_for_mlp(c.model_id);
  }
  if (kind == "gpt2") {
    if (const auto* tokens = std::get_if<TokenInput>(&input)) {
      return gpt2_program(a, c.model_id, {tokens->ids, std::nullopt}, std::move(ctx));
    }
    if (const auto* g = std::get_if<GenerateInput>(&input)) {
      return gpt2_program(a, c.model_id, {g->prompt, *g}, std::move(ctx));
    }
    throw not_for_gpt2(c.model_id);
  }
  throw Error(Errc::invalid_argument, "the model owner runs a program of unknown kind '" + kind +
                                          "' (this client knows mlp and gpt2)");
}

// The dealer group of a conversion: its dealers' ids, sorted, joined by ','.
std::string group_of(const Conversion& c) {
  std::vector<std::string> ids;
  for (const DealerSeed& d : c.seeds) ids.push_back(d.dealer_id);
  std::sort(ids.begin(), ids.end());
  return group_key(ids);
}

std::shared_ptr<grpc::Channel> online_channel(const OnlineSettings& settings) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(8 * online::kMaxWords + 1024));
  return grpc::CreateCustomChannel(
      settings.model_owner_endpoint,
      grpcsvc::channel_credentials(settings.tls, settings.model_owner_identity), args);
}

// Connects before the batch is claimed, so that an online service that cannot be reached (a
// wrong model_owner.online, the model owner down, not its certificate) leaves the batch
// converted for a later `client online`. The first failure ends the wait: a refused port
// fails at once rather than after gRPC's reconnect backoff.
void connect(grpc::Channel& channel, const OnlineSettings& settings, const std::string& batch_id) {
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(20);
  auto state = channel.GetState(true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN ||
        !channel.WaitForStateChange(state, deadline)) {
      throw OnlineNotStarted(
          Errc::unavailable,
          "cannot reach the model owner's online service at " + settings.model_owner_endpoint +
              " (model_owner.online: its gRPC host:port, serving the certificate of '" +
              settings.model_owner_identity + "'); batch " + batch_id +
              " is converted and unused, its online phase did not start",
          batch_id);
    }
    state = channel.GetState(true);
  }
}

OnlineResult run_session(ClientStore& store, const std::shared_ptr<grpc::Channel>& channel_ptr,
                         const OnlineSettings& settings, const Conversion& c,
                         const OnlineInput& input,
                         const std::function<void(std::string_view)>& progress) {
  const auto started = std::chrono::steady_clock::now();
  auto stub = ppi::online::v1::OnlineInference::NewStub(channel_ptr);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + settings.timeout);
  auto stream = stub->Run(&context);
  const std::string peer = "model owner (" + settings.model_owner_endpoint + ")";
  // A refused or broken stream ends with the model owner's status: that is the error to give.
  auto failed = [&]() -> Error {
    stream->WritesDone();
    return grpcsvc::from_status(stream->Finish(), peer, settings.model_owner_identity,
                                settings.model_owner_endpoint);
  };

  auto ctx = std::make_shared<HeldContext>();
  ctx->store = &store;
  ctx->model_id = c.model_id;
  ctx->group_id = group_of(c);
  ctx->held_id = store.held_weights_id(ctx->model_id, ctx->group_id);
  OnlineMessage start;
  start.mutable_start()->set_batch_id(c.batch_id);
  if (ctx->held_id) start.mutable_start()->set_held_weights_id(*ctx->held_id);
  OnlineMessage accept;
  if (!stream->Write(start) || !stream->Read(&accept)) throw failed();
  if (!accept.has_accept()) {
    throw Error(Errc::invalid_argument, peer + " did not answer Start with Accept");
  }
  const auto& a = accept.accept();
  const auto plan = material::MaterialPlan::parse(a.plan_json());
  Program program;
  try {
    if (!a.mask_plan_json().empty()) {
      ctx->mask_plan = material::MaterialPlan::parse(a.mask_plan_json());
    }
    program = prepare(a, c, plan, input, ctx);
  } catch (const Error& e) {
    // Both sides have claimed the batch by now; cancelling tells the model owner, which marks
    // it failed as this client does.
    context.TryCancel();
    stream->Finish();
    throw Error(e.code(), std::string(e.what()) + "; batch " + c.batch_id +
                              " was bound to this inference and is now used up, its online "
                              "phase did not run");
  }

  progress("expanding " + std::to_string(c.seeds.size()) +
           " dealer seeds into this client's share (" + std::to_string(plan.element_count()) +
           " elements)");
  const mpc::BatchShare share = expand_share(c, plan);
  mpc::BatchCursor material(share, ctx->mask_plan ? &*ctx->mask_plan : nullptr);

  progress("online phase with the " + peer + ": " + program.description);
  online::StreamChannel channel([&](OnlineMessage& m) { return stream->Read(&m); },
                                [&](const OnlineMessage& m) { return stream->Write(m); }, peer);
  auto kernels = compute::make_best_kernels();
  mpc::Party party(mpc::Role::client, channel, material, *kernels, program.frac_bits,
                   program.magnitude_bits);
  OnlineResult out;
  out.model_id = c.model_id;
  out.model_kind = kind_of(a);
  try {
    program.run(party, out);
  } catch (const Error& e) {
    if (e.code() == Errc::unavailable) throw failed();
    throw;
  }
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  if (!status.ok())
    throw grpcsvc::from_status(status, peer, settings.model_owner_identity,
                               settings.model_owner_endpoint);

  out.rounds = channel.rounds();
  out.bytes_sent = channel.bytes_sent();
  out.bytes_received = channel.bytes_received();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

nlohmann::json result_json(const OnlineResult& r) {
  if (r.model_kind != "gpt2") {
    nlohmann::json result = {{"classes", r.classes}};
    if (!r.logits.empty()) result["logits"] = r.logits;
    return result;
  }
  if (r.generated) return {{"generated_tokens", r.classes}, {"bucket", r.bucket}};
  nlohmann::json result = {{"next_tokens", r.classes}, {"bucket", r.bucket}};
  if (!r.logits.empty()) {
    nlohmann::json best = nlohmann::json::array();
    for (const auto& [id, logit] : best_logits(r, kPrintedLogits)) best.push_back({id, logit});
    result["top_logits"] = best;
  }
  return result;
}

}  // namespace

TokenInput parse_tokens(const std::string& text) {
  const std::string form = "--tokens takes comma-separated token ids (e.g. --tokens=464,2068)";
  if (text.empty()) throw Error(Errc::config, form + ", got an empty list");
  TokenInput out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const bool digits =
        !item.empty() && item.size() <= 10 &&
        std::all_of(item.begin(), item.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (!digits || std::stoull(item) > std::numeric_limits<std::uint32_t>::max()) {
      throw Error(Errc::config, form + ": item " + std::to_string(out.ids.size() + 1) + " '" +
                                    item + "' is not a non-negative integer below 2^32");
    }
    out.ids.push_back(static_cast<std::uint32_t>(std::stoull(item)));
    if (comma == text.size()) return out;
    start = comma + 1;
  }
}

std::vector<std::pair<std::uint32_t, double>> best_logits(const OnlineResult& r, std::size_t n) {
  std::vector<std::pair<std::uint32_t, double>> all;
  for (std::size_t j = 0; j < r.logits.size(); ++j) {
    all.emplace_back(static_cast<std::uint32_t>(j), r.logits[j]);
  }
  n = std::min(n, all.size());
  // Ties keep the lower id first, as the private argmax does.
  std::partial_sort(all.begin(), all.begin() + static_cast<long>(n), all.end(),
                    [](const auto& x, const auto& y) {
                      return x.second > y.second || (x.second == y.second && x.first < y.first);
                    });
  all.resize(n);
  return all;
}

void check_endpoint(const std::string& endpoint) {
  const auto colon = endpoint.rfind(':');
  const std::string host = colon == std::string::npos ? "" : endpoint.substr(0, colon);
  const std::string port = colon == std::string::npos ? "" : endpoint.substr(colon + 1);
  const bool digits =
      !port.empty() && port.size() <= 5 &&
      std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  if (host.empty() || !digits || std::stoul(port) == 0 || std::stoul(port) > 65535 ||
      endpoint.find("://") != std::string::npos || host.find('/') != std::string::npos) {
    throw Error(Errc::config, "config model_owner.online: '" + endpoint +
                                  "' is not HOST:PORT (the model owner's gRPC online service, "
                                  "e.g. 127.0.0.1:8442; no scheme)");
  }
}

void check_input_fits(const nlohmann::json& model, const OnlineInput& input) {
  const std::string id = model.value("model_id", "");
  const std::string kind = model.value("kind", "");
  if (kind == "mlp") {
    const auto* rows = std::get_if<online::InputRows>(&input);
    if (!rows) throw not_for_mlp(id);
    const auto most = model.value("rows", std::uint64_t{0});
    if (rows->count == 0 || rows->count > most) throw too_many(id, most, rows->count, "input rows");
    return;
  }
  if (kind != "gpt2") return;  // the session says what an unknown kind is
  if (std::holds_alternative<online::InputRows>(input)) throw not_for_gpt2(id);
  const auto context = model.value("max_context", std::uint64_t{0});
  const auto* tokens = std::get_if<TokenInput>(&input);
  const auto& ids = tokens ? tokens->ids : std::get<GenerateInput>(input).prompt;
  if (ids.empty() || ids.size() > context) throw too_many(id, context, ids.size(), "tokens");
  if (const auto* g = std::get_if<GenerateInput>(&input)) {
    const auto most = model.value("max_new_tokens", std::uint64_t{0});
    if (g->max_tokens > most) throw too_many_new(id, most, g->max_tokens);
  }
}

OnlineResult run_online(ClientStore& store, const OnlineSettings& settings,
                        const std::string& batch_id, const OnlineInput& input,
                        const std::function<void(std::string_view)>& progress) {
  check_endpoint(settings.model_owner_endpoint);
  const auto channel = online_channel(settings);
  connect(*channel, settings, batch_id);
  const Conversion c = store.begin_online(batch_id);
  try {
    OnlineResult out = run_session(store, channel, settings, c, input, progress);
    store.finish_online(batch_id, result_json(out).dump());
    return out;
  } catch (const std::exception& e) {
    store.fail_online(batch_id, e.what());
    throw;
  }
}

}  // namespace ppi::client
