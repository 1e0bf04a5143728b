#include "net/http_server.hpp"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

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
      : io(io_),
        workers(workers_),
        acceptor(io_),
        options(std::move(o)),
        router(std::move(r)),
        connections(options.limits) {}
  asio::io_context& io;
  asio::thread_pool& workers;
  tcp::acceptor acceptor;
  const ServerOptions options;
  std::shared_ptr<const Router> router;
  std::optional<asio::ssl::context> ssl;
  ConnectionTable connections;
  std::atomic<std::uint64_t> handshake_failures{0};
  std::atomic<std::int64_t> last_failure_log_ms{0};
};

namespace {

using Phase = ConnectionTable::Phase;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One accepted connection. Its stream lives on a strand of its own (the socket was accepted
// onto one), and everything that touches the stream runs there: the connection's coroutine,
// the stream's timeout, which closes the socket, and an eviction. Before, the timeout's
// close ran on one I/O thread while the coroutine started its next read on another: the
// segfaults in epoll_reactor::start_op and deregister_descriptor (issue 15 item 1).
template <class Stream>
struct Connection : std::enable_shared_from_this<Connection<Stream>> {
  template <class... Args>
  explicit Connection(Args&&... args) : stream(std::forward<Args>(args)...) {}
  Stream stream;
  std::uint64_t id = 0;

  ConnectionTable::Closer closer() {
    return [weak = this->weak_from_this()] {
      if (auto self = weak.lock()) {
        asio::post(self->stream.get_executor(),
                   [self] { beast::get_lowest_layer(self->stream).close(); });
      }
    };
  }
};

// Forgets the connection in the table when its coroutine ends, however it ends.
struct Registration {
  ConnectionTable& table;
  std::uint64_t id;
  ~Registration() { table.remove(id); }
};

// Failed handshakes are what a flood of strangers looks like: logged at most once a second,
// with how many there were, so that the log does not become the next thing to run out.
void log_handshake_failure(HttpServer::State& state, const std::string& remote,
                           const std::string& reason) {
  const auto failures = ++state.handshake_failures;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  auto last = state.last_failure_log_ms.load();
  if (now - last < 1000 || !state.last_failure_log_ms.compare_exchange_strong(last, now)) return;
  log::warn(
      "tls_handshake_failed",
      {{"remote", remote}, {"reason", reason}, {"failures_so_far", std::to_string(failures)}});
}

std::string remote_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  return ec ? std::string() : ep.address().to_string() + ":" + std::to_string(ep.port());
}

// Runs the router on the worker pool and resumes the connection's coroutine afterwards (on the
// connection's strand: co_spawn completes on the awaiting coroutine's executor).
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
awaitable<void> refuse(Stream& stream, http::status status, const std::string& title,
                       const std::string& detail, const std::string& code) {
  Response res = problem_response(status, title, detail, code);
  res.keep_alive(false);
  boost::system::error_code ec;
  co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
}

template <class Stream>
awaitable<void> serve_requests(Stream& stream, HttpServer::State& state, std::uint64_t id,
                               RequestContext base_context) {
  const ServerOptions& options = state.options;
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(options.body_limit);
    parser.header_limit(16 * 1024);
    state.connections.set_phase(id, Phase::waiting);
    // One deadline for waiting for and reading the whole request: a peer that trickles bytes
    // gets no more time than one that sends nothing.
    beast::get_lowest_layer(stream).expires_after(options.timeout);
    boost::system::error_code ec;
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (ec == http::error::end_of_stream || ec == asio::error::eof) co_return;
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      co_await refuse(stream, http::status::payload_too_large, "Payload Too Large",
                      "request exceeds " + std::to_string(options.body_limit) + " bytes",
                      "too_large");
      co_await drain(stream);
      co_return;
    }
    if (ec) {
      if (ec != beast::error::timeout && ec != asio::error::operation_aborted &&
          ec != asio::error::connection_reset && ec != asio::error::bad_descriptor) {
        co_await refuse(stream, http::status::bad_request, "Bad Request",
                        "malformed HTTP request: " + ec.message(), "invalid_argument");
      }
      co_return;
    }
    state.connections.set_phase(id, Phase::working);
    Request request = parser.release();
    RequestContext context = base_context;
    Response response = co_await handle_on_workers(state.workers, *state.router, request, context);
    beast::get_lowest_layer(stream).expires_after(options.timeout);
    co_await http::async_write(stream, response, asio::redirect_error(use_awaitable, ec));
    if (ec || !response.keep_alive()) co_return;
  }
}

awaitable<void> serve_plain(std::shared_ptr<Connection<PlainStream>> conn,
                            std::shared_ptr<HttpServer::State> state) {
  Registration registration{state->connections, conn->id};
  auto& stream = conn->stream;
  RequestContext context;
  context.remote_address = remote_of(stream.socket());
  co_await serve_requests(stream, *state, conn->id, std::move(context));
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

awaitable<void> serve_tls(std::shared_ptr<Connection<TlsStream>> conn,
                          std::shared_ptr<HttpServer::State> state) {
  Registration registration{state->connections, conn->id};
  auto& stream = conn->stream;
  RequestContext context;
  context.remote_address = remote_of(beast::get_lowest_layer(stream).socket());
  beast::get_lowest_layer(stream).expires_after(state->options.handshake_timeout);
  boost::system::error_code ec;
  co_await stream.async_handshake(asio::ssl::stream_base::server,
                                  asio::redirect_error(use_awaitable, ec));
  if (ec) {
    // A missing or foreign client certificate ends here, before any request is read.
    log_handshake_failure(*state, context.remote_address, ec.message());
    co_return;
  }
  context.peer_identity = peer_common_name(stream.native_handle());
  context.peer_role = peer_role(stream.native_handle());
  if (!state->connections.identify(conn->id, context.peer_identity)) {
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    co_await refuse(stream, http::status::service_unavailable, "Service Unavailable",
                    "too many connections from '" + context.peer_identity + "' (at most " +
                        std::to_string(state->options.limits.max_per_peer) + ")",
                    "unavailable");
  } else {
    co_await serve_requests(stream, *state, conn->id, std::move(context));
  }
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
}

template <class Stream, class Serve, class... Args>
void spawn_connection(std::shared_ptr<HttpServer::State> state, Phase phase, Serve serve,
                      Args&&... args) {
  auto conn = std::make_shared<Connection<Stream>>(std::forward<Args>(args)...);
  const auto id = state->connections.admit(phase, conn->closer());
  if (!id) return;  // every slot is doing work: the socket closes with conn
  conn->id = *id;
  auto executor = conn->stream.get_executor();
  asio::co_spawn(executor, serve(std::move(conn), std::move(state)), asio::detached);
}

bool out_of_resources(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec.value() == ENFILE;
}

awaitable<void> accept_loop(std::shared_ptr<HttpServer::State> state) {
  auto backoff = std::chrono::milliseconds(0);
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket = co_await state->acceptor.async_accept(
        asio::make_strand(state->io), asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !state->acceptor.is_open()) co_return;
    if (ec) {
      if (out_of_resources(ec)) {
        // Out of descriptors: free one held by a connection that does no work, and wait a
        // little (doubling up to a second) rather than spin on a failing accept.
        state->connections.evict_one();
        backoff =
            std::clamp(backoff * 2, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
        if (backoff == std::chrono::milliseconds(10)) {
          log::warn("accept_failed", {{"reason", ec.message()}});
        }
        asio::steady_timer timer(state->io, backoff);
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
      }
      continue;
    }
    backoff = std::chrono::milliseconds(0);
    if (state->ssl) {
      spawn_connection<TlsStream>(state, Phase::handshake, serve_tls,
                                  beast::tcp_stream(std::move(socket)), *state->ssl);
    } else {
      spawn_connection<PlainStream>(state, Phase::waiting, serve_plain, std::move(socket));
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

namespace ppi::net {
std::size_t HttpServer::connection_count() const {
  return state_->connections.size();
}
std::uint64_t HttpServer::evicted_connections() const {
  return state_->connections.evicted();
}
}  // namespace ppi::net
