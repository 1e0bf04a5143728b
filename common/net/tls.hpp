#pragma once
// TLS set-up shared by the REST server and client (and gRPC): every actor has a certificate
// from the deployment's CA; with mTLS both sides present one. The peer's identity is the
// certificate's subject common name, its role the subject's organizational unit (both set by
// the CA: scripts/make-certs.sh), and its extended key usages say whether it may serve
// (serverAuth) and call (clientAuth). Servers accept only clientAuth certificates, callers
// only serverAuth ones, so a client's certificate cannot pose as a server.

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <string>
#include <string_view>

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
// Loads the certificate, key and CA as the contexts do, to refuse a bad identity at start-up
// (Error(config) naming the files, e.g. a key that is not the certificate's).
void check_identity(const TlsOptions& options);

// The roles a certificate can hold (its subject OU). An operator runs the deployment (groups,
// pools, registry reads); a monitor may only read metrics (a Prometheus server's certificate);
// the others are the actors of the same names.
namespace role {
inline constexpr std::string_view kOperator = "operator";
inline constexpr std::string_view kMonitor = "monitor";
inline constexpr std::string_view kSuperDealer = "super_dealer";
inline constexpr std::string_view kDealer = "dealer";
inline constexpr std::string_view kModelOwner = "model_owner";
inline constexpr std::string_view kClient = "client";
}  // namespace role

// The subject CN of the peer's verified certificate, or "" when it presented none.
std::string peer_common_name(SSL* ssl);
// The subject OU (role) of the peer's verified certificate, or "" when it has none.
std::string peer_role(SSL* ssl);

// The refusal of a server that is not the one the caller means to reach: "server at WHERE
// presented 'PRESENTED', expected 'EXPECTED'".
std::string identity_mismatch(std::string_view where, std::string_view presented,
                              std::string_view expected);

// For verifiers that see the peer's certificate as PEM (gRPC): "" when the certificate may
// act as `side` (serverAuth for a server, clientAuth for a client) and, unless `expected` is
// empty, names `expected` as its CN; otherwise why not (naming `where`).
enum class PeerSide { server, client };
std::string check_peer_certificate(std::string_view pem, PeerSide side, std::string_view expected,
                                   std::string_view where);
// The subject CN of a PEM certificate file (this actor's identity); Error(config) naming the
// file when it cannot be read.
std::string certificate_common_name(const std::string& cert_file);

}  // namespace ppi::net
