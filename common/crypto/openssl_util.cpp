#include "crypto/openssl_util.hpp"

#include <openssl/err.h>

#include <string>

#include "core/error.hpp"

namespace ppi::detail {

void throw_openssl(const char* call) {
  std::string message = std::string(call) + " failed";
  if (unsigned long code = ERR_peek_last_error(); code != 0) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof(reason));
    message += ": ";
    message += reason;
  }
  ERR_clear_error();
  throw Error(Errc::crypto, message);
}

}  // namespace ppi::detail
