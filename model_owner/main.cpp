// The model owner: holds the private model, collects its 2PC share of a batch from the dealers
// on a client's request, and (later) runs the online phase with that client.
//   model_owner [--config FILE] ...                     serve
//   model_owner register MODEL_ID PLAN_FILE ...           register a model and its plan
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/actor.hpp"
#include "app/malloc_tuning.hpp"
#include "core/ids.hpp"
#include "core/json_body.hpp"
#include "material/plan.hpp"
#include "model_owner/converter.hpp"
#include "net/json_call.hpp"

namespace {

using namespace ppi;

std::vector<config::KeySpec> model_owner_keys() {
  return {
      config::required_key("super_dealer.url", "REST URL of the super dealer"),
      config::integer_key("grpc.chunk_elements", 0, 0, 1 << 20,
                          "elements per GetShares message (0: the dealer's default)"),
  };
}

model_owner::ConverterSettings converter_settings(const config::Config& cfg) {
  model_owner::ConverterSettings s;
  s.super_dealer_url = cfg.get_string("super_dealer.url");
  s.rest.tls = app::tls_options(cfg);
  s.rest.timeout = std::chrono::seconds(30);
  s.grpc_tls = s.rest.tls;
  s.chunk_elements = static_cast<std::uint32_t>(cfg.get_int("grpc.chunk_elements"));
  return s;
}

void start(app::ServerActor& actor, const config::Config& cfg) {
  auto store = std::make_shared<model_owner::ModelOwnerStore>(actor.database_ptr());
  auto settings = converter_settings(cfg);
  actor.router().add(net::http::verb::post, "/v1/model_inference",
                     [store, settings](const net::Request& req, net::RequestContext& ctx) {
                       const std::string& client = app::require_identity(ctx);
                       JsonBody body(req.body(), {"model_id", "dealers"});
                       std::string model_id = body.string("model_id");
                       check_name_id(model_id, "model_id");
                       auto dealers = body.strings("dealers");
                       check_dealer_group(dealers);
                       auto answer =
                           model_owner::convert(*store, settings, client, model_id, dealers);
                       return net::json_response(net::http::status::ok, answer.dump());
                     });
  actor.keep(store);
}

// `register MODEL_ID PLAN_FILE`: the super dealer learns the plan; the model owner keeps it.
int register_model(const config::Config& cfg, std::shared_ptr<db::Database> database) {
  const auto& args = cfg.positional();
  if (args.size() != 3 || args[0] != "register") {
    throw Error(Errc::config, "usage: model_owner register MODEL_ID PLAN_FILE");
  }
  check_name_id(args[1], "model id");
  std::ifstream in(args[2]);
  if (!in) throw Error(Errc::config, "cannot read plan file '" + args[2] + "'");
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (doc.is_discarded()) throw Error(Errc::invalid_argument, "plan file is not JSON");
  auto plan = material::MaterialPlan::from_json(doc);
  auto settings = converter_settings(cfg);
  auto answer =
      net::call_json(settings.rest, net::http::verb::post, settings.super_dealer_url + "/v1/models",
                     {{"model_id", args[1]}, {"plan", plan.to_json()}});
  model_owner::ModelOwnerStore(std::move(database)).save_model(args[1], plan.to_json().dump());
  std::cout << "registered model " << args[1] << ": " << answer.at("element_count")
            << " elements per batch\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ppi::app::tune_malloc_for_streaming();
  return app::run_server_actor(
      "model_owner",
      "Model owner: serves model_inference and collects its 2PC share from the dealers.\n\n"
      "Commands:\n  register MODEL_ID PLAN_FILE   register a model's material plan with the "
      "super dealer",
      8441, model_owner_keys(), argc, argv, start, register_model);
}
