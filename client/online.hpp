#pragma once
// The client's side of the online phase (PROTOCOL.md section 6): opens the model owner's
// OnlineInference stream for a converted batch, expands its seeds into its 2PC share, and
// plays party 1 of the model's private program: the MLP on input rows, or one GPT-2 pass on
// token ids. The client learns the classes or the next tokens (and the logits when the model
// owner reveals them); the model owner learns nothing of the input (of a GPT-2's tokens: the
// length bucket they are padded to).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/client_store.hpp"
#include "core/error.hpp"
#include "net/tls.hpp"
#include "online/input_file.hpp"

namespace ppi::client {

struct OnlineSettings {
  std::string model_owner_endpoint;  // host:port of the model owner's gRPC online service
  std::string model_owner_identity = "model_owner";  // the CN its certificate must name
  std::optional<net::TlsOptions> tls;
  std::chrono::seconds timeout{600};
};

// A GPT-2's input: token ids, 1 to the model's bucket of them.
struct TokenInput {
  std::vector<std::uint32_t> ids;
};
// A token a generation has just given the client, with the session's figures so far.
struct GeneratedToken {
  std::uint32_t token = 0;
  std::uint32_t index = 0;  // 0: the pass's, then one per step
  double seconds = 0;       // since the online phase began
  std::uint64_t rounds = 0, bytes_sent = 0, bytes_received = 0;
};

// A GPT-2 generation: the prompt's token ids, then up to max_tokens new tokens (at most what
// the model's batches hold: its model.max_new_tokens), stopping early at `stop` (the
// tokenizer's end-of-text). `on_token` sees each token as it is learnt.
struct GenerateInput {
  std::vector<std::uint32_t> prompt;
  std::uint32_t max_tokens = 1;
  std::optional<std::uint32_t> stop;
  // 0: greedy; else each token is sampled from softmax(logits / temperature) with this client's
  // randomness (inference::gumbel_noise), which the model owner never sees.
  double temperature = 0;
  std::function<void(const GeneratedToken&)> on_token;
};

// What an inference takes: an MLP's rows, a GPT-2's tokens (one pass: the next token) or a
// generation; the model owner says which program runs, and an input of another kind is
// refused before the program starts.
using OnlineInput = std::variant<online::InputRows, TokenInput, GenerateInput>;

// "464,2068,..." as token ids. Error(config) naming the item unless the list is non-empty and
// every comma-separated item a decimal integer below 2^32 (the vocabulary is checked once the
// model owner has said which model runs).
TokenInput parse_tokens(const std::string& text);

struct OnlineResult {
  std::string model_id;
  std::string model_kind;  // "mlp" or "gpt2"
  // mlp: one per input row; gpt2: the next tokens, best first; a generation: its new tokens
  std::vector<std::size_t> classes;
  std::vector<double> logits;       // mlp: rows x classes; gpt2: the vocabulary; when revealed
  std::size_t classes_per_row = 0;  // mlp: classes; gpt2: the vocabulary size
  std::uint32_t bucket = 0;         // gpt2: the length the tokens were padded to
  bool generated = false;           // gpt2: a generation (classes are its new tokens)
  std::uint64_t rounds = 0, bytes_sent = 0, bytes_received = 0;
  double seconds = 0;
};

// The n largest revealed logits of a GPT-2 pass with their token ids, best first.
inline constexpr std::size_t kPrintedLogits = 5;
std::vector<std::pair<std::uint32_t, double>> best_logits(const OnlineResult& r, std::size_t n);

// The online service could not be reached, so the batch was not claimed: it stays converted,
// and `client online --batch_id` can run it once model_owner.online is right.
class OnlineNotStarted : public Error {
 public:
  OnlineNotStarted(Errc code, const std::string& message, std::string batch_id)
      : Error(code, message), batch_id_(std::move(batch_id)) {}
  const std::string& batch_id() const { return batch_id_; }

 private:
  std::string batch_id_;
};

// Error(config) unless `endpoint` is HOST:PORT (what model_owner.online takes).
void check_endpoint(const std::string& endpoint);

// The input against a model's public limits, one item of the model owner's GET /v1/models
// (kind; an MLP's rows; a GPT-2's max_context and max_new_tokens), so that an input that
// cannot run is refused before a batch is bound to it. The session checks it again on
// Accept, with what only Accept says (input width, vocabulary).
void check_input_fits(const nlohmann::json& model, const OnlineInput& input);

// `progress` gets one line per step. Errors: OnlineNotStarted before the batch is claimed;
// the client's own refusals (unknown or used
// batch: not_found, conflict), the model owner's (mapped from its gRPC status), inputs that do
// not fit the model (invalid_argument, saying that the batch is used up without its online
// phase). The batch is marked failed on any error after it was claimed, and its seeds are
// deleted.
OnlineResult run_online(ClientStore& store, const OnlineSettings& settings,
                        const std::string& batch_id, const OnlineInput& input,
                        const std::function<void(std::string_view)>& progress);

}  // namespace ppi::client
