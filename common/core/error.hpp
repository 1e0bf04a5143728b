#pragma once
// The one error type of the project: a code that says what kind of failure it is (and so which
// REST status or gRPC code it maps to) and a message meant for a human.

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace ppi {

enum class Errc {
  invalid_argument,   // bad input from a caller: 400 / INVALID_ARGUMENT
  not_found,          // 404 / NOT_FOUND
  conflict,           // state does not allow it (used batch...): 409 / FAILED_PRECONDITION
  gone,               // existed but expired: 410 / FAILED_PRECONDITION
  permission_denied,  // authenticated but not allowed: 403 / PERMISSION_DENIED
  unauthenticated,    // no or bad identity: 401 / UNAUTHENTICATED
  too_large,          // size bound exceeded: 413 / RESOURCE_EXHAUSTED
  unavailable,        // a peer or database cannot be reached: 503 / UNAVAILABLE
  config,             // bad configuration value: exit code 2
  database,           // a database error that is not one of the above
  crypto,             // an OpenSSL call failed
  internal,           // a bug: 500 / INTERNAL
};

std::string_view errc_name(Errc code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  // `served` is what peers are told instead of `message`, which stays in this actor's log: for
  // failures of the actor's own infrastructure, whose messages name hosts, ports and tables
  // (issue 15 item 5). The REST and gRPC edges answer with served().
  Error(Errc code, const std::string& message, std::string served)
      : std::runtime_error(message), code_(code), served_(std::move(served)) {}
  Errc code() const noexcept { return code_; }
  const char* served() const noexcept { return served_.empty() ? what() : served_.c_str(); }
  bool detail_withheld() const noexcept { return !served_.empty(); }
  // For `unavailable`: when trying again makes sense, in seconds (0: no estimate). REST answers
  // carry it as Retry-After and net::call_json reads it back, so it survives relays.
  Error&& retry_after(int seconds) && noexcept {
    retry_after_ = seconds;
    return std::move(*this);
  }
  int retry_after_seconds() const noexcept { return retry_after_; }

 private:
  Errc code_;
  std::string served_;
  int retry_after_ = 0;
};

}  // namespace ppi
