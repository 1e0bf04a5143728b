#pragma once
// Test harness: private GPT-2 passes with the model owner and the client in two threads over a
// local channel pair, each on its own Gpt2Session (kept across passes, as in a session of the
// online phase), with material from the TEST FIXTURE dealer of fixture_dealer.hpp. Shared by
// inference_tests and bench_inference_gpt2.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fixture_dealer.hpp"
#include "inference/gpt2_program.hpp"
#include "mpc/channel.hpp"

namespace ppi::inference::test {

struct Gpt2PassRun {
  Gpt2Result model_owner, client;
  std::uint64_t rounds = 0;
  std::uint64_t bytes_mo_to_client = 0, bytes_client_to_mo = 0;
  std::uint64_t demands = 0;       // material demands of the pass (FixtureDealer::made)
  double seconds = 0;              // the client's wall time from both parties ready to its result
  std::uint64_t minor_faults = 0;  // page faults of the process during the pass
};

// Makes one pass's material ahead of it (a generation's: the pass and all options.steps
// steps), for `tokens` tokens: runs the client's program in
// recording mode against dealer.prefetcher() on `shadow`, a client session that has shared
// the same matrices as the real ones (so it asks for what the real pass will).
void prefetch_pass(FixtureDealer& dealer, Gpt2Session& shadow, std::size_t tokens,
                   const Gpt2PassOptions& options);

class Gpt2TwoParty {
 public:
  // `weights` (the model owner's) must outlive this object.
  Gpt2TwoParty(const model::Gpt2Shape& shape, const model::Gpt2FixedWeights& weights);

  // One pass on both parties. With `prefetch`, the dealer makes the pass's material first (not
  // in `seconds`). Rethrows the first party's real error.
  Gpt2PassRun pass(std::span<const std::uint32_t> tokens, const Gpt2PassOptions& options,
                   bool prefetch = true);

  FixtureDealer& dealer() { return dealer_; }
  const Gpt2Session& model_owner_session() const { return mo_; }
  const Gpt2Session& client_session() const { return client_; }

 private:
  model::Gpt2Shape shape_;
  FixtureDealer dealer_;
  Gpt2Session mo_, client_, prefetch_;
  std::unique_ptr<mpc::Channel> mo_channel_, client_channel_;
};

}  // namespace ppi::inference::test
