#include "client/gateway.hpp"

#include "inference/gpt2_program.hpp"

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <set>
#include <thread>

#include "app/docs.hpp"
#include "client/conversion.hpp"
#include "client/generation.hpp"
#include "core/ids.hpp"
#include "core/json_body.hpp"
#include "inference/gpt2_program.hpp"
#include "model_owner/api.hpp"
#include "net/json_call.hpp"
#include "net/router.hpp"
#include "obs/log.hpp"

namespace ppi::client {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;
using tcp = asio::ip::tcp;

struct Gateway::State {
  GatewaySettings settings;
  ClientStore store;
  std::shared_ptr<const text::Gpt2Tokenizer> tokenizer;
  net::Router router;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::uint16_t port = 0;
  std::thread accepting;
  std::mutex mutex;
  std::condition_variable idle;
  std::set<int> open;  // the connections' sockets, so that stop() can end their reads
  bool stopping = false;

  State(GatewaySettings s, std::shared_ptr<db::Database> db,
        std::shared_ptr<const text::Gpt2Tokenizer> t)
      : settings(std::move(s)), store(std::move(db)), tokenizer(std::move(t)) {}
};

namespace {

// A completion request as far as it can be checked without the model owner.
struct CompletionRequest {
  std::string model;
  std::string prompt;
  std::uint32_t max_tokens = 16;  // OpenAI's default
  double temperature = 0;         // greedy
  bool stream = false;
};

[[noreturn]] void unsupported(const std::string& field, const std::string& why) {
  throw Error(Errc::invalid_argument, "'" + field + "': not supported yet: " + why);
}

// OpenAI's clients send null for a field they leave at its default.
const json* optional_field(const JsonBody& body, const std::string& field) {
  const auto it = body.raw().find(field);
  return it == body.raw().end() || it->is_null() ? nullptr : &*it;
}

CompletionRequest parse_completion(std::string_view text) {
  const JsonBody body(
      text, {"model", "prompt", "max_tokens", "temperature", "top_k", "stream", "n", "stop"});
  CompletionRequest r;
  r.model = body.string("model");
  check_name_id(r.model, "model");
  r.prompt = body.string("prompt");
  if (r.prompt.empty()) throw Error(Errc::invalid_argument, "'prompt' must not be empty");
  if (optional_field(body, "max_tokens")) {
    const auto n = body.uint("max_tokens");
    if (n == 0 || n > (1u << 16)) {
      throw Error(Errc::invalid_argument, "'max_tokens' must be 1 to 65536");
    }
    r.max_tokens = static_cast<std::uint32_t>(n);
  }
  // Temperature sampling is the client's (inference::gumbel_noise); top-k sampling is not built.
  if (const json* t = optional_field(body, "temperature")) {
    if (!t->is_number()) throw Error(Errc::invalid_argument, "'temperature' must be a number");
    r.temperature = t->get<double>();
    if (r.temperature < 0 || r.temperature > inference::kMaxTemperature) {
      throw Error(Errc::invalid_argument, "'temperature' must be 0 (greedy) to " +
                                              std::to_string(inference::kMaxTemperature));
    }
  }
  if (const json* k = optional_field(body, "top_k")) {
    if (!k->is_number_integer() || k->get<std::int64_t>() != 1) {
      unsupported("top_k", "greedy decoding only (top_k 1)");
    }
  }
  if (const json* n = optional_field(body, "n")) {
    if (!n->is_number_integer() || n->get<std::int64_t>() != 1) {
      unsupported("n", "one completion per request (n 1)");
    }
  }
  if (optional_field(body, "stop")) unsupported("stop", "generation stops at end-of-text only");
  if (const json* s = optional_field(body, "stream")) {
    if (!s->is_boolean()) throw Error(Errc::invalid_argument, "'stream' must be a boolean");
    r.stream = s->get<bool>();
  }
  return r;
}

// The model owner's GPT-2 models (its GET /v1/models), asked for each request so that a model
// registered later is seen at once.
std::vector<json> gpt2_models(const GatewaySettings& s) {
  const auto answer = net::call_json(
      s.rest, net::http::verb::get, s.model_owner_url + std::string(model_owner::api::kModelsPath));
  std::vector<json> out;
  for (const auto& m : answer.at("models")) {
    if (m.at("kind") == "gpt2") out.push_back(m);
  }
  return out;
}

// Checks the request against its model's limits, so that a request that cannot run uses no
// batch.
void check_against_model(const GatewaySettings& s, const CompletionRequest& r,
                         std::size_t prompt_tokens) {
  for (const auto& m : gpt2_models(s)) {
    if (m.at("model_id") != r.model) continue;
    const auto context = m.at("max_context").get<std::uint32_t>();
    const auto new_tokens = m.at("max_new_tokens").get<std::uint32_t>();
    if (prompt_tokens > context) {
      throw Error(Errc::invalid_argument, "'prompt': " + std::to_string(prompt_tokens) +
                                              " tokens, model " + r.model + " takes at most " +
                                              std::to_string(context));
    }
    if (r.max_tokens > new_tokens) {
      throw Error(Errc::invalid_argument, "'max_tokens': model " + r.model + " generates at most " +
                                              std::to_string(new_tokens) +
                                              " tokens per request, not " +
                                              std::to_string(r.max_tokens));
    }
    return;
  }
  throw Error(Errc::not_found, "'model': the model owner has no GPT-2 model '" + r.model + "'");
}

json models_answer(const GatewaySettings& s) {
  json data = json::array();
  for (const auto& m : gpt2_models(s)) {
    data.push_back({{"id", m.at("model_id")},
                    {"object", "model"},
                    {"created", 0},
                    {"owned_by", "model_owner"},
                    {"max_context", m.at("max_context")},
                    {"max_new_tokens", m.at("max_new_tokens")}});
  }
  return {{"object", "list"}, {"data", data}};
}

json completion_object(const std::string& id, std::time_t created, const std::string& model,
                       const std::string& text, const json& finish_reason) {
  return {{"id", id},
          {"object", "text_completion"},
          {"created", created},
          {"model", model},
          {"choices", json::array({{{"text", text},
                                    {"index", 0},
                                    {"logprobs", nullptr},
                                    {"finish_reason", finish_reason}}})}};
}

// A generated token may be a lone byte of a UTF-8 character: JSON gets U+FFFD for it, as the
// text `client generate` prints.
std::string dump(const json& doc) {
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

void write_event(tcp::socket& socket, const std::string& data) {
  const std::string event = "data: " + data + "\n\n";
  asio::write(socket, http::make_chunk(asio::buffer(event)));
}

// Runs one completion and writes its answer; returns whether the connection may serve another
// request.
bool serve_completion(Gateway::State& st, tcp::socket& socket, const net::Request& req) {
  const GatewaySettings& s = st.settings;
  CompletionRequest r;
  std::vector<std::uint32_t> prompt;
  Conversion c;
  if (auto refused = net::unsupported_media_type(req)) {
    refused->keep_alive(req.keep_alive());
    http::write(socket, *refused);
    return req.keep_alive();
  }
  try {
    r = parse_completion(req.body());
    prompt = st.tokenizer->encode(r.prompt);
    check_against_model(s, r, prompt.size());
    c = convert(st.store, s.rest, s.model_owner_url, r.model, s.dealers);
  } catch (const Error& e) {
    auto res = net::problem_response(e, req.version());
    res.keep_alive(req.keep_alive());
    http::write(socket, res);
    return req.keep_alive();
  }
  const std::string id = "cmpl-" + c.batch_id;
  const std::time_t created = std::time(nullptr);
  const std::size_t prompt_tokens = prompt.size();
  const auto finish_reason = [](const TextGeneration& g) { return g.stopped ? "stop" : "length"; };
  log::info(
      "completion_started",
      {{"batch_id", c.batch_id}, {"model", r.model}, {"stream", r.stream ? "true" : "false"}});
  if (!r.stream) {
    net::Response res;
    try {
      const auto g = generate_text(st.store, s.online, c.batch_id, *st.tokenizer, std::move(prompt),
                                   r.max_tokens, r.temperature, {});
      const std::size_t completion_tokens = g.tokens.size() - (g.stopped ? 1 : 0);
      auto doc = completion_object(id, created, r.model, g.text, finish_reason(g));
      doc["usage"] = {{"prompt_tokens", prompt_tokens},
                      {"completion_tokens", completion_tokens},
                      {"total_tokens", prompt_tokens + completion_tokens}};
      res = net::json_response(net::http::status::ok, dump(doc), req.version());
    } catch (const Error& e) {
      res = net::problem_response(e, req.version());
    }
    res.keep_alive(req.keep_alive());
    http::write(socket, res);
    return req.keep_alive();
  }
  http::response<http::empty_body> head{http::status::ok, req.version()};
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.keep_alive(req.keep_alive());
  head.chunked(true);
  http::response_serializer<http::empty_body> serializer{head};
  http::write_header(socket, serializer);
  bool keep = req.keep_alive();
  TextCallbacks callbacks;
  callbacks.on_text = [&](std::string_view piece) {
    write_event(socket, dump(completion_object(id, created, r.model, std::string(piece), nullptr)));
  };
  try {
    const auto g = generate_text(st.store, s.online, c.batch_id, *st.tokenizer, std::move(prompt),
                                 r.max_tokens, r.temperature, callbacks);
    write_event(socket, dump(completion_object(id, created, r.model, "", finish_reason(g))));
  } catch (const Error& e) {
    // The status is sent already: the error goes in the stream, as OpenAI's do.
    write_event(socket, dump({{"error",
                               {{"message", e.what()},
                                {"type", "server_error"},
                                {"code", std::string(errc_name(e.code()))}}}}));
    keep = false;
  }
  write_event(socket, "[DONE]");
  asio::write(socket, http::make_chunk_last());
  return keep;
}

bool serve_request(Gateway::State& st, tcp::socket& socket, const net::Request& req,
                   net::RequestContext& context) {
  const std::string_view target = req.target();
  if (req.method() == http::verb::post && target.substr(0, target.find('?')) == "/v1/completions") {
    return serve_completion(st, socket, req);
  }
  auto res = st.router.handle(req, context);
  http::write(socket, res);
  return res.keep_alive();
}

void serve_connection(Gateway::State& st, tcp::socket& socket) {
  net::RequestContext base;
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (!ec) base.remote_address = ep.address().to_string() + ":" + std::to_string(ep.port());
  beast::flat_buffer buffer;
  try {
    for (bool keep = true; keep;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(st.settings.body_limit);
      parser.header_limit(16 * 1024);
      http::read(socket, buffer, parser, ec);
      if (ec == http::error::end_of_stream || ec == asio::error::eof) break;
      if (ec) {
        const bool too_large = ec == http::error::body_limit || ec == http::error::header_limit;
        auto res = too_large
                       ? net::problem_response(http::status::payload_too_large, "Payload Too Large",
                                               "request too large", "too_large")
                       : net::problem_response(http::status::bad_request, "Bad Request",
                                               "malformed HTTP request: " + ec.message(),
                                               "invalid_argument");
        res.keep_alive(false);
        http::write(socket, res, ec);
        break;
      }
      auto context = base;
      keep = serve_request(st, socket, parser.get(), context);
    }
  } catch (const boost::system::system_error& e) {
    // The application went away mid-answer; a generation it was streaming has failed.
    log::warn("gateway_connection_lost", {{"remote", base.remote_address}, {"reason", e.what()}});
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace

Gateway::Gateway(GatewaySettings settings, std::shared_ptr<db::Database> db,
                 std::shared_ptr<const text::Gpt2Tokenizer> tokenizer)
    : state_(std::make_shared<State>(std::move(settings), std::move(db), std::move(tokenizer))) {
  auto& router = state_->router;
  const GatewaySettings& s = state_->settings;
  router.add(http::verb::get, "/v1/models", [&s](const net::Request&, net::RequestContext&) {
    return net::json_response(http::status::ok, models_answer(s).dump());
  });
  // Never reached: serve_request takes it first, with the connection to stream on. Here so
  // that another method on the path is 405.
  router.add(http::verb::post, "/v1/completions",
             [](const net::Request&, net::RequestContext&) -> net::Response {
               throw Error(Errc::internal, "completions are served by the gateway itself");
             });
  app::add_docs_routes(router, "client", s.swagger_ui_dir);
}

std::vector<net::Router::RouteInfo> Gateway::routes() const {
  return state_->router.routes();
}

Gateway::~Gateway() {
  stop();
}

void Gateway::start() {
  auto& st = *state_;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(st.settings.address, ec);
  if (ec || !address.is_loopback()) {
    throw Error(Errc::config, "serve.address '" + st.settings.address +
                                  "' is not a loopback address: the gateway has no "
                                  "authentication, so it serves this machine only");
  }
  const tcp::endpoint endpoint(address, st.settings.port);
  st.acceptor.open(endpoint.protocol(), ec);
  if (!ec) st.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) st.acceptor.bind(endpoint, ec);
  if (!ec) st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error(Errc::unavailable, "cannot listen on " + st.settings.address + ":" +
                                       std::to_string(st.settings.port) + ": " + ec.message());
  }
  st.port = st.acceptor.local_endpoint().port();
  st.accepting = std::thread([state = state_] {
    for (;;) {
      boost::system::error_code aec;
      tcp::socket socket(state->io);
      state->acceptor.accept(socket, aec);
      std::unique_lock lock(state->mutex);
      if (state->stopping) return;
      if (aec) continue;
      if (state->open.size() >= state->settings.max_connections) {
        lock.unlock();
        auto res = net::problem_response(http::status::service_unavailable, "Service Unavailable",
                                         "too many connections", "unavailable");
        res.keep_alive(false);
        http::write(socket, res, aec);
        continue;
      }
      const int fd = socket.native_handle();
      state->open.insert(fd);
      std::thread([state, fd, s = std::move(socket)]() mutable {
        serve_connection(*state, s);
        std::lock_guard guard(state->mutex);
        state->open.erase(fd);
        boost::system::error_code cec;
        s.close(cec);  // under the lock: stop() never shuts down a reused descriptor
        state->idle.notify_all();
      }).detach();
    }
  });
}

std::uint16_t Gateway::port() const {
  return state_->port;
}

void Gateway::stop() {
  auto& st = *state_;
  {
    std::lock_guard lock(st.mutex);
    if (st.stopping) return;
    st.stopping = true;
    // A blocking accept() and the connections' reads between requests wake up at a shutdown;
    // a request in progress still writes its answer.
    if (st.acceptor.is_open()) ::shutdown(st.acceptor.native_handle(), SHUT_RDWR);
    for (int fd : st.open) ::shutdown(fd, SHUT_RD);
  }
  if (st.accepting.joinable()) st.accepting.join();
  boost::system::error_code ec;
  st.acceptor.close(ec);
  std::unique_lock lock(st.mutex);
  st.idle.wait(lock, [&] { return st.open.empty(); });
}

}  // namespace ppi::client
