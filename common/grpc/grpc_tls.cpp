#include "grpc/grpc_tls.hpp"

#include <fstream>
#include <sstream>

namespace ppi::grpcsvc {
namespace {

std::string read_pem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || text.str().empty()) throw Error(Errc::config, "cannot read TLS file '" + path + "'");
  return text.str();
}

}  // namespace

std::shared_ptr<grpc::ServerCredentials> server_credentials(
    const std::optional<net::TlsOptions>& tls) {
  if (!tls) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      tls->require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                               : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = read_pem(tls->ca_file);
  options.pem_key_cert_pairs.push_back({read_pem(tls->key_file), read_pem(tls->cert_file)});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> channel_credentials(
    const std::optional<net::TlsOptions>& tls) {
  if (!tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = read_pem(tls->ca_file);
  if (!tls->cert_file.empty()) {
    options.pem_private_key = read_pem(tls->key_file);
    options.pem_cert_chain = read_pem(tls->cert_file);
  }
  return grpc::SslCredentials(options);
}

std::string peer_identity(const grpc::ServerContext& context) {
  auto auth = context.auth_context();
  // Properties exist only for a certificate that passed verification against the CA.
  if (!auth || !auth->IsPeerAuthenticated()) return "";
  auto names = auth->FindPropertyValues("x509_common_name");
  if (names.empty()) return "";
  return std::string(names.front().data(), names.front().size());
}

grpc::Status to_status(const Error& error) {
  using grpc::StatusCode;
  auto keep = [&](StatusCode code) { return grpc::Status(code, error.what()); };
  switch (error.code()) {
    case Errc::invalid_argument:
      return keep(StatusCode::INVALID_ARGUMENT);
    case Errc::not_found:
      return keep(StatusCode::NOT_FOUND);
    case Errc::conflict:
    case Errc::gone:
      return keep(StatusCode::FAILED_PRECONDITION);
    case Errc::permission_denied:
      return keep(StatusCode::PERMISSION_DENIED);
    case Errc::unauthenticated:
      return keep(StatusCode::UNAUTHENTICATED);
    case Errc::too_large:
      return keep(StatusCode::RESOURCE_EXHAUSTED);
    case Errc::unavailable:
      return keep(StatusCode::UNAVAILABLE);
    case Errc::config:
    case Errc::database:
    case Errc::crypto:
    case Errc::internal:
      break;
  }
  return grpc::Status(StatusCode::INTERNAL, "internal error");
}

Error from_status(const grpc::Status& status, std::string_view peer) {
  using grpc::StatusCode;
  Errc code = Errc::internal;
  switch (status.error_code()) {
    case StatusCode::INVALID_ARGUMENT:
      code = Errc::invalid_argument;
      break;
    case StatusCode::NOT_FOUND:
      code = Errc::not_found;
      break;
    case StatusCode::FAILED_PRECONDITION:
      code = Errc::conflict;
      break;
    case StatusCode::PERMISSION_DENIED:
      code = Errc::permission_denied;
      break;
    case StatusCode::UNAUTHENTICATED:
      code = Errc::unauthenticated;
      break;
    case StatusCode::RESOURCE_EXHAUSTED:
      code = Errc::too_large;
      break;
    case StatusCode::UNAVAILABLE:
    case StatusCode::DEADLINE_EXCEEDED:
    case StatusCode::CANCELLED:
      code = Errc::unavailable;
      break;
    default:
      break;
  }
  std::string message = status.error_message();
  if (message.empty()) message = "gRPC status " + std::to_string(status.error_code());
  return Error(code, peer.empty() ? message : std::string(peer) + ": " + message);
}

}  // namespace ppi::grpcsvc
