#pragma once
// TLS set-up shared by the REST server and client (and later gRPC): every actor has a
// certificate from the deployment's CA; with mTLS both sides present one and the peer's
// identity is the certificate's subject common name.

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <string>

namespace ppi::net {

struct TlsOptions {
  std::string cert_file;            // PEM certificate chain of this actor
  std::string key_file;             // PEM private key of this actor
  std::string ca_file;              // PEM CA that signs every actor of the deployment
  bool require_client_cert = true;  // servers only: mTLS
};

// Throws Error(config) naming the file when a certificate, key or CA cannot be loaded.
boost::asio::ssl::context make_server_context(const TlsOptions& options);
boost::asio::ssl::context make_client_context(const TlsOptions& options);

// The subject CN of the peer's verified certificate, or "" when it presented none.
std::string peer_common_name(SSL* ssl);
// The subject CN of a PEM certificate file (this actor's identity); Error(config) naming the
// file when it cannot be read.
std::string certificate_common_name(const std::string& cert_file);

}  // namespace ppi::net
