#include "flood.hpp"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace ppi::test {
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

struct Flood::Impl {
  FloodOptions options;
  asio::io_context io;
  std::optional<asio::ssl::context> tls;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> opened{0}, closed{0}, failures{0};
};

namespace {

awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
}

// Writes `bytes` one at a time, then `filler` forever, each after a pause; returns when the
// server closes the connection (or the flood stops).
template <class Stream>
awaitable<void> trickle(Flood::Impl& f, Stream& stream, std::string bytes, char filler) {
  boost::system::error_code ec;
  for (std::size_t i = 0; !f.stopping; ++i) {
    const char c = i < bytes.size() ? bytes[i] : filler;
    co_await asio::async_write(stream, asio::buffer(&c, 1),
                               asio::redirect_error(use_awaitable, ec));
    if (ec) {
      ++f.closed;
      co_return;
    }
    co_await pause(f.options.trickle);
  }
}

awaitable<void> connection(Flood::Impl& f) {
  const tcp::endpoint endpoint(asio::ip::make_address(f.options.host), f.options.port);
  const std::string request_start = "GET /healthz HTTP/1.1\r\nHost: flood\r\nX-Flood: ";
  while (!f.stopping) {
    tcp::socket socket(co_await asio::this_coro::executor);
    boost::system::error_code ec;
    co_await socket.async_connect(endpoint, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      ++f.failures;
      co_await pause(f.options.trickle);
      continue;
    }
    switch (f.options.kind) {
      case FloodKind::slow_client_hello:
        ++f.opened;
        // Handshake record, TLS 1.0 record version, 512 bytes announced.
        co_await trickle(f, socket, std::string("\x16\x03\x01\x02\x00", 5), '\x01');
        break;
      case FloodKind::slow_plain_request:
        ++f.opened;
        co_await trickle(f, socket, request_start, 'a');
        break;
      case FloodKind::idle: {
        ++f.opened;
        char byte;
        co_await socket.async_read_some(asio::buffer(&byte, 1),
                                        asio::redirect_error(use_awaitable, ec));
        ++f.closed;
        break;
      }
      case FloodKind::slow_request: {
        asio::ssl::stream<tcp::socket> stream(std::move(socket), *f.tls);
        co_await stream.async_handshake(asio::ssl::stream_base::client,
                                        asio::redirect_error(use_awaitable, ec));
        if (ec) {
          ++f.failures;
          co_await pause(f.options.trickle);
          break;
        }
        ++f.opened;
        co_await trickle(f, stream, request_start, 'a');
        break;
      }
    }
  }
}

}  // namespace

Flood::Flood(FloodOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.kind == FloodKind::slow_request) {
    impl_->tls.emplace(net::make_client_context(impl_->options.tls.value()));
  }
  for (int i = 0; i < impl_->options.connections; ++i) {
    asio::co_spawn(impl_->io, connection(*impl_), asio::detached);
  }
  thread_ = std::thread([this] { impl_->io.run(); });
}

Flood::~Flood() {
  stop();
}

FloodReport Flood::report() const {
  return {impl_->opened.load(), impl_->closed.load(), impl_->failures.load()};
}

FloodReport Flood::stop() {
  if (thread_.joinable()) {
    impl_->stopping = true;
    impl_->io.stop();
    thread_.join();
  }
  return report();
}

}  // namespace ppi::test
