// The model owner: holds the private model, collects its 2PC share of a batch from the dealers
// on a client's request, and (later) runs the online phase with that client.
//   model_owner [--config FILE] ...                     serve
//   model_owner register MODEL_ID PLAN_FILE ...           register a model and its plan
//   model_owner register MODEL_ID MODEL.safetensors ...   register a model: weights, rows, plan
//   model_owner register MODEL_ID GPT2_DIR ...            a GPT-2 (config.json, model.safetensors)
//   model_owner plaintext MODEL.safetensors INPUT.json    the model's own answer, in the clear
//   model_owner plan (MODEL.safetensors | GPT2_DIR)       the plan of one inference, offline
//   model_owner models                                    the models it can run, from its database
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/actor.hpp"
#include "app/malloc_tuning.hpp"
#include "config/batch_keys.hpp"
#include "core/ids.hpp"
#include "core/json_body.hpp"
#include "core/periodic.hpp"
#include "grpc/share_service.hpp"
#include "inference/gpt2_program.hpp"
#include "inference/mlp_program.hpp"
#include "material/plan.hpp"
#include "model/gpt2.hpp"
#include "model/mlp.hpp"
#include "model/reference.hpp"
#include "model/safetensors.hpp"
#include "model_owner/converter.hpp"
#include "model_owner/mo_routes.hpp"
#include "model_owner/mo_store.hpp"
#include "model_owner/online_service.hpp"
#include "mpc/party.hpp"
#include "net/json_call.hpp"
#include "obs/log.hpp"
#include "online/input_file.hpp"
#include "super_dealer/api.hpp"

namespace {

using namespace ppi;

std::vector<config::KeySpec> model_owner_keys() {
  return {
      config::required_key("super_dealer.url", "REST URL of the super dealer"),
      config::string_key("super_dealer.identity", "super_dealer",
                         "the CN the super dealer's certificate must name"),
      config::integer_key("grpc.chunk_elements", 0, 0, 1 << 20,
                          "elements per GetShares message (0: the dealer's default)"),
      config::integer_key("online.port", 8442, 0, 65535,
                          "TCP port of the gRPC OnlineInference service (clients connect here)"),
  };
}

// What register and plan read to make a model's plan.
std::vector<config::KeySpec> registration_keys() {
  return {
      config::integer_key(
          "model.rows", 1, 1, 4096,
          "register: inputs per inference (the material plan is made for this many)"),
      config::boolean_key("model.reveal_logits", false,
                          "register: the client also learns the logits, not only the classes "
                          "(GPT-2: the next token's logits over the vocabulary)"),
      config::integer_key("model.max_context", 32, 1, 1 << 16,
                          "register, GPT-2: the length bucket T; every inference is padded to T "
                          "tokens (at most the model's n_positions), and the model owner learns "
                          "T, not the length"),
      config::integer_key("model.max_new_tokens", 1, 1, 1 << 16,
                          "register, GPT-2: how many tokens one inference may generate (the "
                          "first from the prompt, each further one from a step on the "
                          "secret-shared KV cache); max_context + max_new_tokens - 1 must not "
                          "exceed the model's n_positions"),
      config::integer_key("model.top_k", 1, 1, inference::kMaxTopK,
                          "register, GPT-2: how many next tokens (best first) the client learns"),
  };
}

model_owner::ConverterSettings converter_settings(const config::Config& cfg) {
  model_owner::ConverterSettings s;
  s.super_dealer_url = cfg.get_string("super_dealer.url");
  s.rest.tls = app::tls_options(cfg);
  s.rest.timeout = std::chrono::seconds(30);
  s.rest.server_identity = cfg.get_string("super_dealer.identity");  // rest: to the super dealer
  s.grpc_tls = s.rest.tls;
  s.chunk_elements = static_cast<std::uint32_t>(cfg.get_int("grpc.chunk_elements"));
  return s;
}

void start(app::ServerActor& actor, const config::Config& cfg) {
  auto store = std::make_shared<model_owner::ModelOwnerStore>(actor.database_ptr(),
                                                              cfg.get_int("batch.ttl_seconds"));
  // Unused shares expire on time, not when someone next asks (issue 14 item 4).
  auto sweeper = std::make_shared<Periodic>(
      "inference_expiry", std::chrono::seconds(cfg.get_int("batch.expiry_interval_seconds")),
      [store] { store->expire_due(); });
  actor.keep(sweeper);
  actor.on_stop([sweeper] { sweeper->stop(); });
  store->fail_unfinished();  // before serving: nothing of this run is unfinished yet
  model_owner::add_routes(actor.router(), actor.database_ptr(), store, converter_settings(cfg),
                          cfg.get_string("super_dealer.identity"));
  actor.keep(store);

  auto online = std::make_shared<model_owner::OnlineService>(store);
  auto grpc_server = std::make_shared<grpcsvc::GrpcServer>(
      cfg.get_string("listen.address"), static_cast<std::uint16_t>(cfg.get_int("online.port")),
      app::tls_options(cfg), std::vector<grpc::Service*>{online.get()},
      model_owner::kOnlineMaxMessageBytes);
  log::info("online_listening", {{"port", std::to_string(grpc_server->port())}});
  actor.keep(online);
  actor.keep(grpc_server);
  actor.on_stop([grpc_server] { grpc_server->shutdown(); });
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Errc::config, "cannot read '" + path + "'");
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_gpt2_dir(const std::string& path) {
  return std::filesystem::is_directory(path) &&
         std::filesystem::exists(std::filesystem::path(path) / "config.json");
}

// What a registration stores and tells the super dealer.
struct Registration {
  material::MaterialPlan plan;
  Bytes weights;
  model_owner::ModelSettings settings;
  // The long-lived weight masks, held outside the batches, once per (model, dealer group).
  std::optional<material::MaterialPlan> mask_plan = std::nullopt;
};

Registration mlp_registration(const config::Config& cfg, const std::string& file) {
  // Its plan is what its private program consumes for model.rows inputs.
  Bytes weights = read_file(file);
  const auto graph = model::load_mlp(model::parse_safetensors(weights));
  model_owner::ModelSettings s;
  s.input_rows = static_cast<std::uint32_t>(cfg.get_int("model.rows"));
  s.reveal_logits = cfg.get_bool("model.reveal_logits");
  return {inference::mlp_plan(inference::MlpShape::of(graph), s.input_rows, s.reveal_logits),
          std::move(weights), s};
}

// The per-inference plan of a pass whose weight masks are held outside the batch, and the mask
// plan of those masks: the model owner gets them once per (model, dealer group).
Registration gpt2_registration(const config::Config& cfg, const std::string& dir) {
  // The loader checks every tensor (and names the one it refuses) before anything is stored.
  const model::Gpt2Weights loaded = model::load_gpt2(std::filesystem::path(dir));
  const model::Gpt2Shape shape =
      model::Gpt2Shape::of(model::encode_gpt2(model::fold_gpt2(loaded), mpc::kDefaultFracBits));
  model_owner::ModelSettings s;
  s.kind = model_owner::ModelKind::gpt2;
  s.bucket = static_cast<std::uint32_t>(cfg.get_int("model.max_context"));
  s.top_k = static_cast<std::uint32_t>(cfg.get_int("model.top_k"));
  s.reveal_logits = cfg.get_bool("model.reveal_logits");
  s.max_new_tokens = static_cast<std::uint32_t>(cfg.get_int("model.max_new_tokens"));
  if (s.bucket > shape.config.n_positions) {
    throw Error(Errc::config, "config model.max_context: " + std::to_string(s.bucket) +
                                  " is more than the model's n_positions " +
                                  std::to_string(shape.config.n_positions));
  }
  if (s.bucket + s.max_new_tokens - 1 > shape.config.n_positions) {
    throw Error(Errc::config, "config model.max_new_tokens: " + std::to_string(s.max_new_tokens) +
                                  " tokens after a bucket of " + std::to_string(s.bucket) +
                                  " go beyond the model's n_positions " +
                                  std::to_string(shape.config.n_positions));
  }
  if (s.top_k > shape.config.vocab_size) {
    throw Error(Errc::config, "config model.top_k: " + std::to_string(s.top_k) +
                                  " is more than the model's vocabulary of " +
                                  std::to_string(shape.config.vocab_size));
  }
  const Bytes config_text = read_file((std::filesystem::path(dir) / "config.json").string());
  s.config_json.assign(config_text.begin(), config_text.end());
  auto recorded = inference::record_gpt2(shape, model_owner::gpt2_pass_options(s), true);
  if (!recorded.mask_plan) throw Error(Errc::internal, "a GPT-2 pass recorded no mask plan");
  return {std::move(recorded.plan),
          read_file((std::filesystem::path(dir) / "model.safetensors").string()), s,
          std::move(recorded.mask_plan)};
}

Registration plan_registration(const std::string& file) {
  const Bytes text = read_file(file);
  auto doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) throw Error(Errc::invalid_argument, "plan file is not JSON");
  return {material::MaterialPlan::from_json(doc), {}, {}};
}

Registration registration(const config::Config& cfg, const std::string& path) {
  if (is_gpt2_dir(path)) return gpt2_registration(cfg, path);
  if (ends_with(path, ".safetensors")) return mlp_registration(cfg, path);
  return plan_registration(path);
}

// `register MODEL_ID (PLAN_FILE | MODEL.safetensors | GPT2_DIR)`: the super dealer learns the
// plan; the model owner keeps it, with the model's files and settings.
int register_model(app::CommandContext& ctx) {
  const auto& cfg = ctx.cfg;
  const std::string& model_id = ctx.args[0];
  check_name_id(model_id, "model id");
  const Registration r = registration(cfg, ctx.args[1]);
  auto settings = converter_settings(cfg);
  super_dealer::api::ModelRegistration request{model_id, r.plan.to_json(), std::nullopt};
  if (r.mask_plan) request.mask_plan = r.mask_plan->to_json();
  const auto answer =
      net::call_json(settings.rest, net::http::verb::post,
                     settings.super_dealer_url + std::string(super_dealer::api::kModelsPath),
                     nlohmann::json(request))
          .get<super_dealer::api::ModelRegistered>();
  model_owner::ModelOwnerStore(ctx.db).save_model(
      model_id, r.plan.to_json().dump(), r.weights, r.settings,
      r.mask_plan ? r.mask_plan->canonical() : "", cfg.get_bool("replace"));
  nlohmann::ordered_json doc = {{"registered", model_id},
                                {"kind", model_owner::kind_name(r.settings.kind)},
                                {"elements_per_batch", answer.element_count}};
  if (r.mask_plan) doc["mask_elements_per_group"] = r.mask_plan->element_count();
  if (r.settings.kind == model_owner::ModelKind::gpt2) {
    doc["max_context"] = r.settings.bucket;
    doc["max_new_tokens"] = r.settings.max_new_tokens;
    doc["top_k"] = r.settings.top_k;
  } else if (r.settings.input_rows != 0) {
    doc["rows"] = r.settings.input_rows;
  }
  if (ctx.out.json()) {
    ctx.out.record(doc);
    return 0;
  }
  std::cout << "registered model " << model_id << ": " << answer.element_count
            << " elements per batch";
  if (r.mask_plan) {
    std::cout << ", " << r.mask_plan->element_count() << " weight-mask elements per dealer group";
  }
  if (r.settings.kind == model_owner::ModelKind::gpt2) {
    std::cout << ", GPT-2 padded to " << r.settings.bucket << " tokens, up to "
              << r.settings.max_new_tokens << " new token(s), top " << r.settings.top_k
              << " next token(s)";
  } else if (r.settings.input_rows != 0) {
    std::cout << ", " << r.settings.input_rows << " input row(s) per inference";
  }
  std::cout << "\n";
  return 0;
}

// `plaintext MODEL.safetensors INPUT.json`: what the model answers in the clear (fixed point,
// the same encoding as the private program, and float), for comparison with a private result.
int plaintext(app::CommandContext& ctx) {
  model::MlpGraph graph;
  try {
    graph = model::load_mlp(std::filesystem::path(ctx.args[0]));
  } catch (const Error& e) {
    // The arguments swapped give "INPUT.json: ... not a safetensors file": say the order.
    throw Error(e.code(), std::string(e.what()) +
                              " (plaintext takes the model first: MODEL.safetensors INPUT.json)");
  }
  auto rows = online::read_input_rows(ctx.args[1], graph.input_dim);
  if (ctx.cfg.get_int("input.row") >= 0) {
    rows = online::select_row(rows, static_cast<std::size_t>(ctx.cfg.get_int("input.row")));
  }
  const auto fixed =
      model::fixed_point_forward(graph, model::encode_inputs(graph, rows.values), rows.count);
  const auto floats = model::float_forward(graph, rows.values, rows.count);
  auto out = nlohmann::ordered_json::array();
  for (std::size_t r = 0; r < rows.count; ++r) {
    out.push_back({{"row", r},
                   {"plaintext_class", fixed.predictions[r]},
                   {"plaintext_float_class", floats.predictions[r]}});
  }
  ctx.out.records("rows", out);
  return 0;
}

// `plan (MODEL.safetensors | GPT2_DIR)`: the material plan of one inference with the register
// settings (model.rows; model.max_context, model.top_k; model.reveal_logits).
int print_plan(app::CommandContext& ctx) {
  const std::string& path = ctx.args[0];
  if (!is_gpt2_dir(path) && !ends_with(path, ".safetensors")) {
    throw Error(Errc::config,
                "plan takes a MODEL.safetensors file or a GPT-2 directory (with "
                "config.json), not '" +
                    path + "'");
  }
  const auto plan = registration(ctx.cfg, path).plan;
  if (ctx.out.json()) {
    ctx.out.record({{"plan", nlohmann::ordered_json::parse(plan.canonical())}});
  } else {
    std::cout << plan.canonical() << "\n";
  }
  return 0;
}

// `models`: the models this model owner can run, from its own database.
int list_models(app::CommandContext& ctx) {
  auto rows = nlohmann::ordered_json::array();
  for (const auto& m : model_owner::ModelOwnerStore(ctx.db).runnable_models()) {
    rows.push_back(model_owner::model_item(m));
  }
  ctx.out.table("models", {"model_id", "kind", "rows", "max_context", "max_new_tokens"}, rows);
  return 0;
}

std::vector<app::Command> commands() {
  app::Command reg{.name = "register",
                   .arguments = "MODEL_ID PATH",
                   .summary =
                       "register a model with the super dealer: PATH is its "
                       "MODEL.safetensors, a GPT-2 directory, or a plan file",
                   .keys = {"super_dealer.url", "super_dealer.identity"},
                   .own_keys = registration_keys(),
                   .database = true,
                   .tls = true,
                   .min_args = 2,
                   .max_args = 2,
                   .run = register_model};
  reg.own_keys.push_back(config::boolean_key(
      "replace", false,
      "register: a model registered before with other settings or weights takes the new ones "
      "(recorded in model_changes); without it that is refused"));
  app::Command plain{.name = "plaintext",
                     .arguments = "MODEL.safetensors INPUT.json",
                     .summary = "the model's answer in the clear, for comparison (offline)",
                     .own_keys = {config::integer_key(
                         "input.row", -1, -1, 1 << 20,
                         "plaintext: only this row of the input file (-1: every row)")},
                     .min_args = 2,
                     .max_args = 2,
                     .run = plaintext};
  app::Command plan{.name = "plan",
                    .arguments = "PATH",
                    .summary =
                        "the material plan of one inference of a MODEL.safetensors or "
                        "GPT-2 directory, as register makes it (offline)",
                    .own_keys = registration_keys(),
                    .min_args = 1,
                    .max_args = 1,
                    .run = print_plan};
  app::Command models{.name = "models",
                      .summary = "the models this model owner can run (from its database)",
                      .database = true,
                      .tls = true,  // its audit entries name it by its certificate
                      .max_args = 0,
                      .run = list_models};
  return {std::move(reg), std::move(plain), std::move(plan), std::move(models)};
}

}  // namespace

int main(int argc, char** argv) {
  ppi::app::tune_malloc_for_streaming();
  return app::run_server_actor(
      "model_owner",
      "Model owner: serves model_inference, collects its 2PC share from the dealers, and runs "
      "the online phase with the client.",
      8441, ppi::config::with_batch_expiry_keys(model_owner_keys()), argc, argv, start, commands());
}
