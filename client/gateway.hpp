#pragma once
// `client serve`: a local HTTP gateway for applications on the client's side, in OpenAI's
// completions shape (docs/api.md, "Client gateway"; openapi/client.yaml):
//   POST /v1/completions  one private generation per request, each with its own batch,
//                         answered whole or streamed as server-sent events
//   GET  /v1/models       the model owner's GPT-2 models
//   GET  /openapi.yaml, /docs  as every actor
// Plain HTTP on a loopback address only: the gateway has no authentication of its own, and
// whoever can reach it spends this client's batches. One thread per connection, because a
// streamed completion blocks on the online phase while it writes to its connection.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/online.hpp"
#include "db/database.hpp"
#include "net/http_client.hpp"
#include "net/router.hpp"
#include "text/gpt2_tokenizer.hpp"

namespace ppi::client {

struct GatewaySettings {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: a free port (see Gateway::port)
  std::string model_owner_url;
  net::ClientOptions rest;  // to the model owner and the dealers
  OnlineSettings online;
  std::vector<std::string> dealers;
  std::string swagger_ui_dir;
  std::size_t max_connections = 64;
  std::size_t body_limit = 1 << 20;
};

class Gateway {
 public:
  Gateway(GatewaySettings settings, std::shared_ptr<db::Database> db,
          std::shared_ptr<const text::Gpt2Tokenizer> tokenizer);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds and starts accepting; Error(config) for an address that is not loopback,
  // Error(unavailable) when it cannot be bound.
  void start();
  std::uint16_t port() const;
  // Stops accepting, ends idle connections and waits for the requests in progress.
  void stop();
  // What it serves (tests/unit/test_openapi_contract.cpp checks it against openapi/client.yaml).
  std::vector<net::Router::RouteInfo> routes() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace ppi::client
