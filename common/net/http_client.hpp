#pragma once
// HTTP/1.1 client on Boost.Beast, plain or TLS with this actor's certificate (mTLS). The
// operations are asynchronous coroutines; `fetch` runs one on a private io_context for
// command-line callers. Every call is bounded by a timeout and by a response size limit.

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "net/http.hpp"
#include "net/tls.hpp"

namespace ppi::net {

struct Url {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string target = "/";
};
// Accepts http://host:port/path and https://host:port/path; throws Error(invalid_argument).
Url parse_url(std::string_view url);

struct ClientOptions {
  std::optional<TlsOptions> tls;  // required for https:// URLs
  std::chrono::seconds timeout{30};
  std::size_t response_limit = 64 << 20;
  // The identity (certificate CN) of the server this call means to reach. An https:// call
  // without one is refused (Error(config)) unless any_server is set: a URL or endpoint taken
  // from a registry or from configuration says where a peer is, not who answers there.
  std::string server_identity;
  // Accept whichever identity of the deployment's CA answers: for a caller that reaches a URL
  // to learn who is there (health checks), never for one that sends or trusts data.
  bool any_server = false;

  // A copy pinned to `identity`.
  ClientOptions to(std::string identity) const {
    ClientOptions pinned = *this;
    pinned.server_identity = std::move(identity);
    pinned.any_server = false;
    return pinned;
  }
};

// Throws Error(unavailable) when the peer cannot be reached or the TLS handshake fails, and
// when the server's certificate names another identity than options.server_identity (before
// any byte of the request is sent: "server at HOST:PORT presented 'X', expected 'Y'");
// Error(config) for an https:// call that names no server identity; Error(invalid_argument) for a
// malformed URL. HTTP error statuses are returned, not thrown.
boost::asio::awaitable<Response> async_fetch(ClientOptions options, http::verb method, Url url,
                                             std::string body = {},
                                             std::string content_type = "application/json");
Response fetch(const ClientOptions& options, http::verb method, std::string_view url,
               std::string body = {}, std::string content_type = "application/json");

}  // namespace ppi::net
