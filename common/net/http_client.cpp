#include "net/http_client.hpp"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>

namespace ppi::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

Url parse_url(std::string_view url) {
  Url out;
  auto fail = [&](const char* why) {
    return Error(Errc::invalid_argument, "URL '" + std::string(url) + "': " + why);
  };
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    throw fail("scheme must be http:// or https://");
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  auto colon = authority.rfind(':');
  if (colon == std::string_view::npos) {
    out.host = std::string(authority);
    out.port = out.tls ? 443 : 80;
  } else {
    out.host = std::string(authority.substr(0, colon));
    auto port_text = authority.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      throw fail("bad port");
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  if (out.host.empty()) throw fail("no host");
  return out;
}

namespace {

// `plain_where` is set for a plain-TCP exchange: a server that answers no HTTP there is most
// often a TLS port (every actor's REST port is mTLS), and the error says so instead of a bare
// "end of stream".
template <class Stream>
asio::awaitable<Response> exchange(Stream& stream, const ClientOptions& options, Request request,
                                   const std::string& plain_where = {}) {
  beast::get_lowest_layer(stream).expires_after(options.timeout);
  boost::system::error_code ec;
  co_await http::async_write(stream, request, asio::redirect_error(use_awaitable, ec));
  if (ec) throw Error(Errc::unavailable, "sending request failed: " + ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(options.response_limit);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
  if (ec && !plain_where.empty() && !parser.got_some()) {
    throw Error(Errc::unavailable, "no HTTP answer from " + plain_where + " (" + ec.message() +
                                       "): if it is a TLS port, use an https:// URL");
  }
  if (ec) throw Error(Errc::unavailable, "reading response failed: " + ec.message());
  co_return parser.release();
}

}  // namespace

asio::awaitable<Response> async_fetch(ClientOptions options, http::verb method, Url url,
                                      std::string body, std::string content_type) {
  auto executor = co_await asio::this_coro::executor;
  std::string where = url.host + ":" + std::to_string(url.port);
  Request request{method, url.target, 11};
  request.set(http::field::host, url.host);
  request.set(http::field::user_agent, "ppi");
  if (!body.empty() || method == http::verb::post) {
    request.set(http::field::content_type, content_type);
    request.body() = std::move(body);
  }
  request.prepare_payload();

  tcp::resolver resolver(executor);
  boost::system::error_code ec;
  auto endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                   asio::redirect_error(use_awaitable, ec));
  if (ec) throw Error(Errc::unavailable, "cannot resolve " + where + ": " + ec.message());
  beast::tcp_stream tcp_stream(executor);
  tcp_stream.expires_after(options.timeout);
  co_await tcp_stream.async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
  if (ec) throw Error(Errc::unavailable, "cannot connect to " + where + ": " + ec.message());

  if (!url.tls) co_return co_await exchange(tcp_stream, options, std::move(request), where);

  if (!options.tls) throw Error(Errc::config, "https URL " + where + " but no TLS identity set");
  if (options.server_identity.empty() && !options.any_server) {
    throw Error(Errc::config, "https call to " + where + " names no expected server identity");
  }
  asio::ssl::context ctx = make_client_context(*options.tls);
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), ctx);
  // Actor certificates name the actor (CN) and carry 127.0.0.1 / localhost as SANs.
  SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
  stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
  co_await stream.async_handshake(asio::ssl::stream_base::client,
                                  asio::redirect_error(use_awaitable, ec));
  if (ec)
    throw Error(Errc::unavailable, "TLS handshake with " + where + " failed: " + ec.message());
  // Checked before the request is written: a server of the deployment that is not the one
  // meant (an endpoint re-registered to point at another dealer) never sees the request, and
  // its answer can never be taken for the expected peer's.
  if (!options.any_server) {
    const std::string presented = peer_common_name(stream.native_handle());
    if (presented != options.server_identity) {
      throw Error(Errc::unavailable, identity_mismatch(where, presented, options.server_identity));
    }
  }
  Response response = co_await exchange(stream, options, std::move(request));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));  // peer may just close
  co_return response;
}

Response fetch(const ClientOptions& options, http::verb method, std::string_view url,
               std::string body, std::string content_type) {
  Url parsed = parse_url(url);
  asio::io_context io;
  auto future = asio::co_spawn(
      io, async_fetch(options, method, parsed, std::move(body), std::move(content_type)),
      asio::use_future);
  io.run();
  return future.get();
}

}  // namespace ppi::net
