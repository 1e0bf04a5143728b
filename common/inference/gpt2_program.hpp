#pragma once
// The private GPT-2 forward pass (PROTOCOL.md section 6) over the 2PC operations of common/mpc:
// the model owner (party 0) holds the weights, the client (party 1) holds the token ids; the
// client learns the top-k next tokens (and the logits when the model owner allows it), the model
// owner learns the length bucket T and nothing else.
//
// One program body for both roles, on the weights folded as model/gpt2.hpp describes (LayerNorm
// affine parts and the 1/sqrt(d_head) scale inside the next linear layer):
//   embedding   the client's one-hot rows (T x V, integer 1s, padded rows one-hot on token 0)
//               times wte by the weight mask (mpc::linear), + wpe[0..T) added by the model owner;
//               the one-hot is an integer, so no truncation.
//   per block   n = layer_norm(h); qkv = trunc(n W_attn) + b; per head S = trunc(Q K^T) (all
//               heads in one round, mpc::matmul_batched); P = softmax_rows(S) with the causal
//               mask; O = trunc(P V) (one round); h += trunc(O W_proj) + b;
//               n = layer_norm(h); h += trunc(gelu(trunc(n W_fc) + b) W_out) + b.
//   output      n = layer_norm(h); last: the client's one-hot selector of position L - 1
//               (1 x T, integer) times n (a MATRIX_TRIPLE_1_T_d, exact), so the model owner
//               does not learn L; all: every position. logits = trunc(n W_head) + b_head.
//   choice      argmax over the vocabulary (mpc::argmax_rows), revealed to the client alone;
//               for top-k the client, which has learnt the best index, enters a one-hot of it
//               as its private input and the program subtracts 2^kTopKExclusionBits times it
//               before the next argmax (k argmax passes, k - 1 extra reveals). The logits,
//               when revealed, ride with the first indices.
// A bias is added by the model owner alone (it is its private weight).
//
// Weights: every matrix is a mpc::PrivateWeights, shared (F = W - B sent once) the first time a
// pass uses it and kept in the Gpt2Session, so later passes of a session (autoregressive steps,
// repeated inferences) take only per-inference material (MASKED_TRIPLEs). A batch that carries
// the masks is therefore a first pass: its plan is recorded from a fresh session.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "model/gpt2.hpp"
#include "mpc/batch_share.hpp"
#include "mpc/growing_matmul.hpp"
#include "mpc/linear.hpp"
#include "mpc/party.hpp"
#include "mpc/plan_recorder.hpp"
#include "ring/z2k.hpp"

namespace ppi::inference {

// Public parameters of one pass, which both parties agree on before it starts.
struct Gpt2PassOptions {
  enum class Output { last, all };
  std::uint32_t bucket = 0;  // T: the padded length, 1..n_positions
  Output output = Output::last;
  std::uint32_t top_k = 1;  // 1..kMaxTopK
  bool reveal_logits = false;
  // Generation: run_gpt2_step calls after the pass (output last; bucket + steps <= n_positions).
  std::uint32_t steps = 0;
};
inline constexpr std::uint32_t kMaxTopK = 64;
// Logits are far below 2^40 in ring units (|logit| < 2^(40 - f)), so an excluded entry, less
// 2^40, is below every other; and |x| < 2^62 holds for the comparisons.
inline constexpr int kTopKExclusionBits = 40;
// A top-1 pass without revealed logits compares the logits before truncation: |logit| < 2^16
// (in the reals; GPT-2's are within a few hundred) keeps them inside the comparison's width.
inline constexpr int kMaxLogitBits = 16;

// What a pass leaves the client: `rows` output rows (1 for last, T for all), each with its top_k
// token ids best first, and rows x V logits (f fractional bits) when revealed. The model owner
// gets rows only.
struct Gpt2Result {
  std::uint32_t rows = 0;
  std::vector<std::uint32_t> top;  // rows x top_k
  std::vector<u64> logits;
};

// Where a session's weight masks come from when the model's batches do not carry them: the
// model's mask set, held outside every batch (docs/protocol.md 6.2). The model owner holds B
// (its share of the mask set), the client nothing of it; once F = W - B has been sent the
// client keeps it per (model, mask set), and a later session with `held` sends nothing.
struct Gpt2MaskSet {
  mpc::MaskSetCursor* masks = nullptr;
  bool held = false;
  // The client's held F, one per matrix in session order (Gpt2Session::matrix_dims); the model
  // owner passes none.
  std::vector<mpc::SecretWords> held_f;
};

// Matrices in the order a pass first uses them: wte, then per layer attn, proj, fc, out, then
// the head.
class Gpt2Session {
 public:
  // The model owner passes its weights (which must outlive the session), the client nullptr.
  // Without a mask set, each matrix takes its WEIGHT_MASK from the first pass's batch.
  Gpt2Session(model::Gpt2Shape shape, const model::Gpt2FixedWeights* weights);
  // With the model's mask set, whose cursor must outlive the session. Error(invalid_argument)
  // when held F is given for a session that is not `held`, or of the wrong sizes.
  Gpt2Session(model::Gpt2Shape shape, const model::Gpt2FixedWeights* weights, Gpt2MaskSet mask_set);

  const model::Gpt2Shape& shape() const { return shape_; }
  const model::Gpt2FixedWeights* weights() const { return weights_; }
  // The PrivateWeights of matrix `index`, shared now if this is its first use.
  const mpc::PrivateWeights& matrix(mpc::Party& p, std::size_t index);
  std::size_t matrices_shared() const;
  std::size_t matrix_count() const { return matrices_.size(); }
  // Matrix `index`'s k x n.
  std::pair<std::uint32_t, std::uint32_t> matrix_dims(std::size_t index) const;
  // F = W - B of matrix `index` once shared: what a client keeps for later sessions.
  std::span<const u64> complement(std::size_t index) const;

  // Sampling, the client's alone: called before each argmax of a pass or step with the client's
  // share of the logits (rows x V, `scale_bits` fractional bits) to add its private noise
  // (gumbel_noise). Adding to its own share is local: the model owner's transcript is the same.
  using ChoiceNoise = std::function<void(std::span<u64> logits, int scale_bits)>;
  void set_choice_noise(ChoiceNoise noise) { noise_ = std::move(noise); }
  const ChoiceNoise& choice_noise() const { return noise_; }

  static std::size_t wte_index() { return 0; }
  static std::size_t layer_index(std::size_t layer, std::size_t which) {
    return 1 + 4 * layer + which;  // which: 0 attn, 1 proj, 2 fc, 3 out
  }
  std::size_t head_index() const { return 1 + 4 * static_cast<std::size_t>(shape_.config.n_layer); }
  // wpe as a private matrix: a generation step's position is the client's secret.
  std::size_t wpe_index() const { return head_index() + 1; }

 private:
  model::Gpt2Shape shape_;
  const model::Gpt2FixedWeights* weights_;
  Gpt2MaskSet mask_set_;
  std::vector<std::optional<mpc::PrivateWeights>> matrices_;
  ChoiceNoise noise_;
};

// Temperature sampling by the Gumbel-max trick: argmax_j (l_j + t g_j), g_j = -ln(-ln u_j) with
// u_j uniform in (0, 1) from the client's CSPRNG, is a sample of softmax(l / t). The noise is
// added in fixed point at the logits' scale; 0 < t <= kMaxTemperature (|t g| stays far below
// the comparisons' range). Error(invalid_argument) otherwise.
inline constexpr double kMaxTemperature = 4.0;
Gpt2Session::ChoiceNoise gumbel_noise(double temperature);

// What a generation carries from the pass to each step, secret-shared and never opened: every
// layer's keys and values, the pass's T slots (padded ones included) and then one per step, held
// as the two products a step takes from them (mpc/growing_matmul.hpp; docs/transformer.md,
// "Generation"): per head, the query row times K^T (dh x capacity) and the attention row times V
// (capacity x dh), capacity = T + steps. A slot's key and value are opened once, masked by their
// entries of the generation's triples, and never again. The client also keeps its prompt length
// L (0 at the model owner).
struct Gpt2Cache {
  struct Layer {
    mpc::GrowingMatmul keys, values;
  };
  std::vector<Layer> layers;
  std::uint32_t bucket = 0, slots = 0;
  std::uint32_t prompt_length = 0;
};

// One forward pass. The client passes its token ids (1..bucket of them, each below V); the
// model owner passes none. Error(invalid_argument) on bad options or tokens, before anything is
// sent or any material is taken. With `cache` (required when options.steps > 0) the pass keeps
// its keys and values there for the steps.
Gpt2Result run_gpt2(mpc::Party& p, Gpt2Session& session, std::span<const std::uint32_t> tokens,
                    const Gpt2PassOptions& options, Gpt2Cache* cache = nullptr);

// One generation step after the pass (docs/transformer.md, "Generation"): the client's token
// (the one it chose last; the model owner passes 0) at position L + step, both its private
// input; computes the new row only, against the cache (with the prompt's padding slots masked
// by the client), appends its keys and values, and gives the next top_k tokens to the client.
// The model owner learns the bucket and the number of steps, not L. Error(conflict) past
// options.steps.
Gpt2Result run_gpt2_step(mpc::Party& p, Gpt2Session& session, Gpt2Cache& cache, std::uint32_t token,
                         const Gpt2PassOptions& options);

// Error(invalid_argument) unless the options fit the shape.
void check_pass_options(const model::Gpt2Shape& shape, const Gpt2PassOptions& options);
// Error(invalid_argument) unless there are 1..bucket tokens, each below V; the message names
// `model_id` when given. run_gpt2 checks the client's tokens with it; a client checks them
// before it expands its share.
void check_pass_tokens(const model::Gpt2Shape& shape, const Gpt2PassOptions& options,
                       std::span<const std::uint32_t> tokens, const std::string& model_id = "");

// A whole generation, one body for both roles: the pass on the prompt, then up to
// options.steps steps. After each result the client's `next` says which token to feed on (the
// greedy choice is result.top[0]) or nullopt to stop (its end-of-text or token limit); before
// each step the client tells the model owner in one word whether it comes, so the model owner
// learns the number of steps (as it learns the bucket) and nothing of the tokens. With
// options.steps == 0 it is run_gpt2 and one call of `next`. The model owner passes no prompt
// and no `next`. Returns the number of results the client got.
using Gpt2Next = std::function<std::optional<std::uint32_t>(const Gpt2Result&)>;
std::uint32_t run_gpt2_generation(mpc::Party& p, Gpt2Session& session,
                                  std::span<const std::uint32_t> prompt,
                                  const Gpt2PassOptions& options, const Gpt2Next& next);

// The first pass of a session recorded (as the client, on token 0), with its options.steps
// generation steps: its plan (weight masks included) and traffic, which the real first pass
// reproduces exactly. `later_pass` records a pass after the first instead (no weight masks, no
// F), with the model's mask plan; a generation (steps > 0) must be recorded so, since a step
// uses every weight again, after the other layers' masks of its shape, which only a mask set's
// pairing allows (material/mask_pairing.hpp), else Error(invalid_argument).
mpc::RecordedProgram record_gpt2(const model::Gpt2Shape& shape, const Gpt2PassOptions& options,
                                 bool later_pass = false);

}  // namespace ppi::inference
