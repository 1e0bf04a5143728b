#pragma once
// The client's side of the online phase (PROTOCOL.md section 6): opens the model owner's
// OnlineInference stream for a converted batch, expands its seeds into its 2PC share, and
// plays party 1 of the model's private program. The client learns the classes (and the logits
// when the model owner reveals them); the model owner learns nothing of the input.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client_store.hpp"
#include "net/tls.hpp"
#include "online/input_file.hpp"

namespace ppi::client {

struct OnlineSettings {
  std::string model_owner_endpoint;  // host:port of the model owner's gRPC online service
  std::optional<net::TlsOptions> tls;
  std::chrono::seconds timeout{600};
};

struct OnlineResult {
  std::string model_id;
  std::vector<std::size_t> classes;  // one per input row
  std::vector<double> logits;        // rows x classes, when revealed; else empty
  std::size_t classes_per_row = 0;
  std::uint64_t rounds = 0, bytes_sent = 0, bytes_received = 0;
  double seconds = 0;
};

// `progress` gets one line per step. Errors: the client's own refusals (unknown or used
// batch: not_found, conflict), the model owner's (mapped from its gRPC status), inputs that do
// not fit the model (invalid_argument). The batch is marked failed on any error after it was
// claimed, and its seeds are deleted.
OnlineResult run_online(ClientStore& store, const OnlineSettings& settings,
                        const std::string& batch_id, const online::InputRows& inputs,
                        const std::function<void(std::string_view)>& progress);

}  // namespace ppi::client
