#pragma once
// Internal to ppi_crypto: turning OpenSSL failures into ppi::Error.

namespace ppi::detail {

// Throws Error(Errc::crypto, "<call> failed: <OpenSSL reason>") and clears OpenSSL's
// thread-local error queue so stale entries do not leak into later, unrelated calls.
[[noreturn]] void throw_openssl(const char* call);

// Guard for the many OpenSSL calls that return 1 on success.
inline void check_openssl(int rc, const char* call) {
  if (rc != 1) throw_openssl(call);
}

}  // namespace ppi::detail
