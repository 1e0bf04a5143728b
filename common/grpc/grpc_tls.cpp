#include "grpc/grpc_tls.hpp"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "obs/catalog.hpp"

namespace ppi::grpcsvc {
namespace {

namespace gx = grpc::experimental;

// The last refusal per (expected server identity, target), for handshake_refusal. Keyed by
// target too: a channel to a wrong endpoint keeps reconnecting in the background, and its
// refusals must not be taken for those of a channel to the right one.
std::mutex refusals_mu;
std::map<std::pair<std::string, std::string>, std::string>& refusals() {
  static std::map<std::pair<std::string, std::string>, std::string> map;
  return map;
}

// Runs after the chain verified against the CA: the peer's certificate must have the usage of
// its side and, on a channel, the CN the channel means to reach.
class PeerVerifier : public gx::ExternalCertificateVerifier {
 public:
  PeerVerifier(net::PeerSide side, std::string expected)
      : side_(side), expected_(std::move(expected)) {}

  bool Verify(gx::TlsCustomVerificationCheckRequest* request, std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    const grpc::string_ref pem = request->peer_cert();
    const grpc::string_ref target = request->target_name();
    const std::string where(target.data(), target.size());
    const std::string why = net::check_peer_certificate(std::string_view(pem.data(), pem.size()),
                                                        side_, expected_, where);
    if (side_ == net::PeerSide::server) {
      std::lock_guard lock(refusals_mu);
      if (why.empty()) {
        refusals().erase({expected_, where});
      } else {
        refusals()[{expected_, where}] = why;
      }
    }
    *sync_status =
        why.empty() ? grpc::Status::OK : grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why);
    return true;
  }
  void Cancel(gx::TlsCustomVerificationCheckRequest*) override {}

 private:
  net::PeerSide side_;
  std::string expected_;
};

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
  auto provider = std::make_shared<gx::StaticDataCertificateProvider>(
      read_pem(tls->ca_file),
      std::vector<gx::IdentityKeyCertPair>{{read_pem(tls->key_file), read_pem(tls->cert_file)}});
  gx::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(tls->require_client_cert
                                    ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                    : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  options.set_certificate_verifier(
      gx::ExternalCertificateVerifier::Create<PeerVerifier>(net::PeerSide::client, ""));
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> channel_credentials(
    const std::optional<net::TlsOptions>& tls, const std::string& server_identity) {
  if (!tls) return grpc::InsecureChannelCredentials();
  if (server_identity.empty()) {
    throw Error(Errc::config, "a TLS channel must name the server identity it expects");
  }
  std::vector<gx::IdentityKeyCertPair> identity;
  if (!tls->cert_file.empty())
    identity.push_back({read_pem(tls->key_file), read_pem(tls->cert_file)});
  auto provider =
      std::make_shared<gx::StaticDataCertificateProvider>(read_pem(tls->ca_file), identity);
  gx::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  if (!identity.empty()) options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  // The verifier replaces gRPC's host name check: the CN pin is the stronger one, and the
  // SANs stay checked against the call host (check_call_host, on by default).
  options.set_certificate_verifier(gx::ExternalCertificateVerifier::Create<PeerVerifier>(
      net::PeerSide::server, server_identity));
  return grpc::experimental::TlsCredentials(options);
}

std::string handshake_refusal(const std::string& server_identity, const std::string& endpoint) {
  std::lock_guard lock(refusals_mu);
  // gRPC names the target as the channel's host:port, or its host alone.
  auto it = refusals().find({server_identity, endpoint});
  if (it == refusals().end()) {
    it = refusals().find({server_identity, endpoint.substr(0, endpoint.rfind(':'))});
  }
  return it == refusals().end() ? std::string() : it->second;
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
  // Every gRPC server answers its errors through here: ppi_errors_total counts them.
  obs::catalog::count_error(error.code());
  using grpc::StatusCode;
  auto keep = [&](StatusCode code) { return grpc::Status(code, error.served()); };
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

Error from_status(const grpc::Status& status, std::string_view peer,
                  const std::string& server_identity, const std::string& endpoint) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    const std::string why = handshake_refusal(server_identity, endpoint);
    if (!why.empty()) return Error(Errc::unavailable, std::string(peer) + ": " + why);
  }
  return from_status(status, peer);
}

}  // namespace ppi::grpcsvc
