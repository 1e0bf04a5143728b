#include "net/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>

#include <filesystem>

#include "core/error.hpp"

namespace ppi::net {
namespace ssl = boost::asio::ssl;

namespace {

void require_file(const std::string& path, const char* what) {
  if (path.empty()) throw Error(Errc::config, std::string("TLS ") + what + " file is not set");
  if (!std::filesystem::is_regular_file(path)) {
    throw Error(Errc::config, std::string("TLS ") + what + " file '" + path + "' does not exist");
  }
}

void load_identity(ssl::context& ctx, const TlsOptions& o) {
  require_file(o.cert_file, "certificate");
  require_file(o.key_file, "private key");
  require_file(o.ca_file, "CA");
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(o.cert_file, ec);
  if (ec) throw Error(Errc::config, "TLS certificate '" + o.cert_file + "': " + ec.message());
  ctx.use_private_key_file(o.key_file, ssl::context::pem, ec);
  // OpenSSL refuses a key that is not the certificate's here ("key values mismatch"): say
  // which two files do not belong together, not only that a key failed.
  const bool mismatch =
      ec && ec.category() == boost::asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
  if (mismatch || (!ec && SSL_CTX_check_private_key(ctx.native_handle()) != 1)) {
    throw Error(Errc::config, "TLS certificate '" + o.cert_file + "' and private key '" +
                                  o.key_file +
                                  "' do not match: the key is not the certificate's (tls.cert "
                                  "and tls.key must be one identity's pair)");
  }
  if (ec) throw Error(Errc::config, "TLS private key '" + o.key_file + "': " + ec.message());
  ctx.load_verify_file(o.ca_file, ec);
  if (ec) throw Error(Errc::config, "TLS CA '" + o.ca_file + "': " + ec.message());
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
}

}  // namespace

void check_identity(const TlsOptions& options) {
  ssl::context ctx(ssl::context::tls_client);
  load_identity(ctx, options);
}

ssl::context make_server_context(const TlsOptions& options) {
  ssl::context ctx(ssl::context::tls_server);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::single_dh_use);
  load_identity(ctx, options);
  // The caller's certificate must allow clientAuth: a server's certificate can call (the
  // server actors have both usages), a certificate without clientAuth cannot.
  SSL_CTX_set_purpose(ctx.native_handle(), X509_PURPOSE_SSL_CLIENT);
  ctx.set_verify_mode(options.require_client_cert
                          ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert
                          : ssl::verify_none);
  // With client verification on, OpenSSL refuses to resume a session (TLS 1.2 id or 1.3
  // ticket) that has no session id context, with alert 80: browsers resume to fetch /docs'
  // assets, so Swagger UI stayed blank over mTLS. A resumed session keeps the verified client
  // certificate, so the caller's identity (peer_common_name) is the same as on the first one.
  static constexpr unsigned char kSessionContext[] = "ppi-rest-mtls";
  if (SSL_CTX_set_session_id_context(ctx.native_handle(), kSessionContext,
                                     sizeof(kSessionContext) - 1) != 1) {
    throw Error(Errc::config, "TLS: cannot set the session id context");
  }
  return ctx;
}

ssl::context make_client_context(const TlsOptions& options) {
  ssl::context ctx(ssl::context::tls_client);
  if (options.cert_file.empty() && options.key_file.empty()) {
    // An anonymous client still verifies the server; mTLS servers will refuse it.
    require_file(options.ca_file, "CA");
    boost::system::error_code ec;
    ctx.load_verify_file(options.ca_file, ec);
    if (ec) throw Error(Errc::config, "TLS CA '" + options.ca_file + "': " + ec.message());
  } else {
    load_identity(ctx, options);
  }
  // The server's certificate must allow serverAuth: a client's certificate (clientAuth only)
  // cannot serve, even with the address and CN a caller expects.
  SSL_CTX_set_purpose(ctx.native_handle(), X509_PURPOSE_SSL_SERVER);
  ctx.set_verify_mode(ssl::verify_peer);
  return ctx;
}

namespace {

// The first subject entry of this kind; "" when there is none. A second OU or CN is not
// looked at: make-certs.sh writes one of each.
std::string subject_entry(X509* cert, int nid) {
  std::string value;
  X509_NAME* subject = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(subject, nid, -1);
  if (idx >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    const unsigned char* bytes = ASN1_STRING_get0_data(data);
    value.assign(reinterpret_cast<const char*>(bytes),
                 static_cast<std::size_t>(ASN1_STRING_length(data)));
  }
  return value;
}

std::string common_name_of(X509* cert) {
  return subject_entry(cert, NID_commonName);
}

std::string peer_entry(SSL* ssl, int nid) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return {};
  std::string value = subject_entry(cert, nid);
  X509_free(cert);
  return value;
}

}  // namespace

std::string peer_common_name(SSL* ssl) {
  return peer_entry(ssl, NID_commonName);
}

std::string peer_role(SSL* ssl) {
  return peer_entry(ssl, NID_organizationalUnitName);
}

std::string identity_mismatch(std::string_view where, std::string_view presented,
                              std::string_view expected) {
  return "server at " + std::string(where) + " presented '" + std::string(presented) +
         "', expected '" + std::string(expected) + "'";
}

std::string check_peer_certificate(std::string_view pem, PeerSide side, std::string_view expected,
                                   std::string_view where) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = bio == nullptr ? nullptr : PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  const std::string peer =
      side == PeerSide::server ? "server at " + std::string(where) : "client " + std::string(where);
  if (cert == nullptr) return peer + " presented no readable certificate";
  // X509_check_purpose's second argument 0: the certificate is an end entity, not a CA.
  const bool fit =
      X509_check_purpose(
          cert, side == PeerSide::server ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT, 0) ==
      1;
  const std::string cn = common_name_of(cert);
  X509_free(cert);
  if (!fit) {
    return peer + " presented '" + cn + "', a certificate without " +
           (side == PeerSide::server ? "serverAuth" : "clientAuth");
  }
  if (!expected.empty() && cn != expected) return identity_mismatch(where, cn, expected);
  return {};
}

std::string certificate_common_name(const std::string& cert_file) {
  FILE* f = std::fopen(cert_file.c_str(), "r");
  if (f == nullptr) throw Error(Errc::config, "TLS certificate '" + cert_file + "' cannot be read");
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) {
    throw Error(Errc::config, "TLS certificate '" + cert_file + "' is not a PEM certificate");
  }
  std::string cn = common_name_of(cert);
  X509_free(cert);
  return cn;
}

}  // namespace ppi::net
