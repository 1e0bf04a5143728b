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
// verified against ca_file (only requested when require_client_cert is false). nullopt:
// plaintext, for tests and benchmarks. Throws Error(config) naming a file that cannot be read.
std::shared_ptr<grpc::ServerCredentials> server_credentials(
    const std::optional<net::TlsOptions>& tls);
// With options: TLS verifying the server against ca_file and presenting this actor's
// certificate (none when cert_file is empty). nullopt: plaintext. Throws Error(config) naming a
// file that cannot be read.
std::shared_ptr<grpc::ChannelCredentials> channel_credentials(
    const std::optional<net::TlsOptions>& tls);

// The CN of the caller's verified certificate, or "" when it presented none.
std::string peer_identity(const grpc::ServerContext& context);

// conflict and gone both become FAILED_PRECONDITION (gRPC has no finer code), so from_status
// gives back conflict for either. Codes that mean a bug or a local failure (config, database,
// crypto, internal) become INTERNAL with a generic message: their details stay in the log.
grpc::Status to_status(const Error& error);
// `peer` names who answered (e.g. "dealer d1 (host:port)") and prefixes the message.
// UNAVAILABLE, DEADLINE_EXCEEDED and CANCELLED become unavailable.
Error from_status(const grpc::Status& status, std::string_view peer);

}  // namespace ppi::grpcsvc
