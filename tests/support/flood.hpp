#pragma once
// A hostile peer for tests: many connections to one server port that each trickle bytes
// slowly, so that the server's handshake and request timeouts keep firing while bytes keep
// arriving (the shape of attack that crashed the actors, issue 15 item 1). Runs on its own
// thread until stopped; a connection the server closes is opened again.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "net/tls.hpp"

namespace ppi::test {

enum class FloodKind {
  // A TLS ClientHello record header and then its body a byte at a time: no certificate is ever
  // presented; the server waits in its handshake.
  slow_client_hello,
  // A full mTLS handshake with `tls`, then request headers a byte at a time, never finished.
  slow_request,
  // Plain TCP (for a server without TLS): request headers a byte at a time.
  slow_plain_request,
  // Connects and sends nothing.
  idle,
};

struct FloodOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  FloodKind kind = FloodKind::slow_client_hello;
  int connections = 200;
  std::optional<net::TlsOptions> tls;  // slow_request only
  std::chrono::milliseconds trickle{100};
};

struct FloodReport {
  std::uint64_t opened = 0;            // connections established (TCP, and TLS where asked)
  std::uint64_t closed_by_server = 0;  // reads or writes that ended with the server's close
  std::uint64_t connect_failures = 0;
};

class Flood {
 public:
  explicit Flood(FloodOptions options);
  ~Flood();  // stops
  Flood(const Flood&) = delete;
  Flood& operator=(const Flood&) = delete;

  // What happened so far, while it runs.
  FloodReport report() const;
  // Ends every connection and returns what happened.
  FloodReport stop();
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace ppi::test
