#pragma once
// gRPC's view of the deployment's mTLS (net/tls.hpp): credentials from the same PEM files, the
// caller's identity as its certificate's CN, and ppi::Error <-> grpc::Status.

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "net/tls.hpp"

namespace ppi::grpcsvc {

// With options: TLS with this actor's certificate, and the client's certificate required and
// verified against ca_file (only requested when require_client_cert is false); a client
// certificate without clientAuth is refused in the handshake. nullopt: plaintext, for tests
// and benchmarks. Throws Error(config) naming a file that cannot be read.
std::shared_ptr<grpc::ServerCredentials> server_credentials(
    const std::optional<net::TlsOptions>& tls);
// With options: TLS verifying the server against ca_file and presenting this actor's
// certificate (none when cert_file is empty); the handshake fails unless the server's
// certificate has serverAuth and names `server_identity` as its CN (the peer the channel means
// to reach: an endpoint says where a peer is, not who answers there). nullopt: plaintext.
// Throws Error(config) naming a file that cannot be read, or when server_identity is empty.
std::shared_ptr<grpc::ChannelCredentials> channel_credentials(
    const std::optional<net::TlsOptions>& tls, const std::string& server_identity);

// Why the last handshake of a channel to `endpoint` meant for `server_identity` was refused
// ("server at HOST:PORT presented 'X', expected 'Y'"), or "" when the last one passed: gRPC
// reports a refused handshake as UNAVAILABLE without the verifier's reason.
std::string handshake_refusal(const std::string& server_identity, const std::string& endpoint);

// The CN of the caller's verified certificate, or "" when it presented none.
std::string peer_identity(const grpc::ServerContext& context);

// conflict and gone both become FAILED_PRECONDITION (gRPC has no finer code), so from_status
// gives back conflict for either. Codes that mean a bug or a local failure (config, database,
// crypto, internal) become INTERNAL with a generic message: their details stay in the log.
// Also counts the error in ppi_errors_total (servers answer their errors through here).
grpc::Status to_status(const Error& error);
// `peer` names who answered (e.g. "dealer d1 (host:port)") and prefixes the message.
// UNAVAILABLE, DEADLINE_EXCEEDED and CANCELLED become unavailable.
Error from_status(const grpc::Status& status, std::string_view peer);
// The same for a call on a channel to `endpoint` meant for `server_identity`: an UNAVAILABLE
// that comes from a refused handshake says why (handshake_refusal).
Error from_status(const grpc::Status& status, std::string_view peer,
                  const std::string& server_identity, const std::string& endpoint);

}  // namespace ppi::grpcsvc
