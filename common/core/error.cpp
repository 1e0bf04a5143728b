#include "core/error.hpp"

namespace ppi {

std::string_view errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::conflict:
      return "conflict";
    case Errc::gone:
      return "gone";
    case Errc::permission_denied:
      return "permission_denied";
    case Errc::unauthenticated:
      return "unauthenticated";
    case Errc::too_large:
      return "too_large";
    case Errc::unavailable:
      return "unavailable";
    case Errc::config:
      return "config";
    case Errc::database:
      return "database";
    case Errc::crypto:
      return "crypto";
    case Errc::internal:
      return "internal";
  }
  return "unknown";
}

}  // namespace ppi
