#include "net/http_server.hpp"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include <array>

#include "obs/log.hpp"

namespace ppi::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

struct HttpServer::State {
  State(asio::io_context& io_, asio::thread_pool& workers_, ServerOptions o,
        std::shared_ptr<const Router> r)
      : io(io_), workers(workers_), acceptor(io_), options(std::move(o)), router(std::move(r)) {}
  asio::io_context& io;
  asio::thread_pool& workers;
  tcp::acceptor acceptor;
  const ServerOptions options;
  std::shared_ptr<const Router> router;
  std::optional<asio::ssl::context> ssl;
};

namespace {

// Runs the router on the worker pool and resumes the connection's coroutine afterwards.
awaitable<Response> handle_on_workers(asio::thread_pool& workers, const Router& router,
                                      const Request& request, RequestContext& context) {
  co_return co_await asio::co_spawn(
      workers, [&]() -> awaitable<Response> { co_return router.handle(request, context); },
      use_awaitable);
}

// Reads and discards what the peer is still sending (the rest of an oversized body), bounded
// in bytes and time, so that it finishes writing and reads our answer instead of seeing the
// connection reset under it.
template <class Stream>
awaitable<void> drain(Stream& stream) {
  constexpr std::size_t kMaxDrain = 64u << 20;
  std::array<char, 64 * 1024> scratch;
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  boost::system::error_code ec;
  for (std::size_t drained = 0; drained < kMaxDrain && !ec;) {
    drained += co_await stream.async_read_some(asio::buffer(scratch),
                                               asio::redirect_error(use_awaitable, ec));
  }
}

template <class Stream>
awaitable<void> serve_requests(Stream& stream, HttpServer::State& state,
                               RequestContext base_context) {
  const ServerOptions& options = state.options;
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(options.body_limit);
    parser.header_limit(16 * 1024);
    beast::get_lowest_layer(stream).expires_after(options.timeout);
    boost::system::error_code ec;
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (ec == http::error::end_of_stream || ec == asio::error::eof) co_return;
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      Response res = problem_response(
          http::status::payload_too_large, "Payload Too Large",
          "request exceeds " + std::to_string(options.body_limit) + " bytes", "too_large");
      res.keep_alive(false);
      co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
      co_await drain(stream);
      co_return;
    }
    if (ec) {
      if (ec != beast::error::timeout && ec != asio::error::operation_aborted &&
          ec != asio::error::connection_reset) {
        Response res =
            problem_response(http::status::bad_request, "Bad Request",
                             "malformed HTTP request: " + ec.message(), "invalid_argument");
        res.keep_alive(false);
        co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
      }
      co_return;
    }
    Request request = parser.release();
    RequestContext context = base_context;
    Response response = co_await handle_on_workers(state.workers, *state.router, request, context);
    beast::get_lowest_layer(stream).expires_after(options.timeout);
    co_await http::async_write(stream, response, asio::redirect_error(use_awaitable, ec));
    if (ec || !response.keep_alive()) co_return;
  }
}

awaitable<void> serve_plain(tcp::socket socket, std::shared_ptr<HttpServer::State> state) {
  beast::tcp_stream stream(std::move(socket));
  RequestContext context;
  boost::system::error_code ec;
  auto ep = beast::get_lowest_layer(stream).socket().remote_endpoint(ec);
  if (!ec) context.remote_address = ep.address().to_string() + ":" + std::to_string(ep.port());
  co_await serve_requests(stream, *state, std::move(context));
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ec);
}

awaitable<void> serve_tls(tcp::socket socket, std::shared_ptr<HttpServer::State> state) {
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *state->ssl);
  RequestContext context;
  boost::system::error_code ec;
  auto ep = beast::get_lowest_layer(stream).socket().remote_endpoint(ec);
  if (!ec) context.remote_address = ep.address().to_string() + ":" + std::to_string(ep.port());
  beast::get_lowest_layer(stream).expires_after(state->options.timeout);
  boost::system::error_code hec;
  co_await stream.async_handshake(asio::ssl::stream_base::server,
                                  asio::redirect_error(use_awaitable, hec));
  if (hec) {
    // A missing or foreign client certificate ends here, before any request is read.
    log::warn("tls_handshake_failed",
              {{"remote", context.remote_address}, {"reason", hec.message()}});
    co_return;
  }
  context.peer_identity = peer_common_name(stream.native_handle());
  context.peer_role = peer_role(stream.native_handle());
  co_await serve_requests(stream, *state, std::move(context));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
}

awaitable<void> accept_loop(std::shared_ptr<HttpServer::State> state) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await state->acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !state->acceptor.is_open()) co_return;
    if (ec) continue;  // e.g. too many open files: keep serving the connections we have
    auto executor = state->io.get_executor();
    if (state->ssl) {
      asio::co_spawn(executor, serve_tls(std::move(socket), state), asio::detached);
    } else {
      asio::co_spawn(executor, serve_plain(std::move(socket), state), asio::detached);
    }
  }
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, asio::thread_pool& workers, ServerOptions options,
                       std::shared_ptr<const Router> router)
    : state_(std::make_shared<State>(io, workers, options, std::move(router))),
      options_(std::move(options)) {
  if (options_.tls) state_->ssl.emplace(make_server_context(*options_.tls));
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options_.address, ec);
  if (ec)
    throw Error(Errc::config, "listen address '" + options_.address + "' is not an IP address");
  tcp::endpoint endpoint(address, options_.port);
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error(Errc::unavailable, "cannot listen on " + options_.address + ":" +
                                       std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor.local_endpoint().port();
  asio::co_spawn(state_->io, accept_loop(state_), asio::detached);
}

void HttpServer::stop() {
  boost::system::error_code ec;
  if (state_->acceptor.is_open()) state_->acceptor.close(ec);
}

}  // namespace ppi::net
