#pragma once
// Asynchronous HTTP/1.1 server on Boost.Beast + Asio coroutines, plain or TLS (mTLS by default).
// One coroutine per connection on the I/O threads; request handlers run on a separate worker
// pool so that a slow database never stalls I/O. Bodies, headers, handshake and request time,
// and the number of connections (in all, in handshake, per peer) are bounded, so that no peer
// can exhaust the server (issue 15 item 1).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "net/connection_table.hpp"
#include "net/router.hpp"
#include "net/tls.hpp"

namespace ppi::net {

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;         // 0: pick a free port (see HttpServer::port)
  std::optional<TlsOptions> tls;  // nullopt: plain TCP (the explicit insecure mode)
  std::size_t body_limit = 1 << 20;
  // Waiting for and reading one request, and writing its answer, each within `timeout`.
  std::chrono::seconds timeout{30};
  std::chrono::seconds handshake_timeout{10};
  ConnectionLimits limits;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, boost::asio::thread_pool& workers, ServerOptions options,
             std::shared_ptr<const Router> router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Throws Error(unavailable) when the address cannot be bound.
  void start();
  // Stops accepting; open connections finish their current request.
  void stop();
  std::uint16_t port() const { return port_; }
  bool tls() const { return options_.tls.has_value(); }
  // Connections open now, and those closed so far to make room (net/connection_table.hpp).
  std::size_t connection_count() const;
  std::uint64_t evicted_connections() const;

  struct State;  // shared with the connection coroutines, which may outlive a stop()

 private:
  std::shared_ptr<State> state_;
  ServerOptions options_;
  std::uint16_t port_ = 0;
};

}  // namespace ppi::net
