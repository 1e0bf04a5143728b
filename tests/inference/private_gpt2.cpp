#include "private_gpt2.hpp"

#include <sys/resource.h>

#include <chrono>
#include <exception>
#include <thread>
#include <utility>

#include "compute/ring_kernels.hpp"
#include "core/error.hpp"
#include "mpc/plan_recorder.hpp"
#include "two_party.hpp"

namespace ppi::inference::test {

void prefetch_pass(FixtureDealer& dealer, Gpt2Session& shadow, std::size_t tokens,
                   const Gpt2PassOptions& options) {
  // The client's program on zero tokens of the same count asks for the same material.
  mpc::RecordingChannel channel;
  auto kernels = mpc::make_recording_kernels();
  mpc::Party p(mpc::Role::client, channel, dealer.prefetcher(), *kernels, shadow.shape().frac_bits,
               mpc::kMaxMagnitudeBits);
  const std::vector<std::uint32_t> zeros(tokens, 0);
  // Every step, whether the real client will take it or not: the material is made for them.
  run_gpt2_generation(p, shadow, zeros, options,
                      [](const Gpt2Result&) { return std::optional<std::uint32_t>(0); });
}

Gpt2TwoParty::Gpt2TwoParty(const model::Gpt2Shape& shape, const model::Gpt2FixedWeights& weights)
    : shape_(shape), mo_(shape, &weights), client_(shape, nullptr), prefetch_(shape, nullptr) {
  auto [c0, c1] = mpc::make_local_channel_pair();
  mo_channel_ = std::move(c0);
  client_channel_ = std::move(c1);
}

Gpt2PassRun Gpt2TwoParty::pass(std::span<const std::uint32_t> tokens,
                               const Gpt2PassOptions& options, bool prefetch) {
  const std::uint64_t made_before = dealer_.made();
  if (prefetch) prefetch_pass(dealer_, prefetch_, tokens.size(), options);
  Gpt2PassRun run;
  rusage ru0{};
  getrusage(RUSAGE_SELF, &ru0);
  const std::uint64_t rounds0 = mo_channel_->rounds();
  const std::uint64_t sent0 = mo_channel_->bytes_sent(), recv0 = mo_channel_->bytes_received();
  std::exception_ptr e0, e1;
  auto party = [&](mpc::Role role, mpc::Channel& channel, Gpt2Session& session,
                   std::span<const std::uint32_t> input, Gpt2Result& out, std::exception_ptr& e) {
    try {
      auto kernels = compute::make_cpu_kernels();
      mpc::Party p(role, channel, dealer_.source(role), *kernels, shape_.frac_bits,
                   mpc::kMaxMagnitudeBits);
      // An empty exchange first, so the clock starts when both parties are ready.
      p.channel().exchange(std::span<const u64>());
      const auto start = std::chrono::steady_clock::now();
      out = run_gpt2(p, session, input, options);
      if (role == mpc::Role::client) {
        run.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
    } catch (...) {
      e = std::current_exception();
    }
  };
  std::thread client([&] {
    party(mpc::Role::client, *client_channel_, client_, tokens, run.client, e1);
    if (e1) client_channel_.reset();  // wakes the model owner if it waits for this party
  });
  party(mpc::Role::model_owner, *mo_channel_, mo_, {}, run.model_owner, e0);
  if (e0) mo_channel_.reset();
  client.join();
  if (e0 && e1 && mpc::test::is_peer_closed(e0)) std::rethrow_exception(e1);
  if (e0) std::rethrow_exception(e0);
  if (e1) std::rethrow_exception(e1);
  run.rounds = mo_channel_->rounds() - rounds0 - 1;  // less the empty exchange
  run.bytes_mo_to_client = mo_channel_->bytes_sent() - sent0;
  run.bytes_client_to_mo = mo_channel_->bytes_received() - recv0;
  run.demands = dealer_.made() - made_before;
  rusage ru1{};
  getrusage(RUSAGE_SELF, &ru1);
  run.minor_faults = static_cast<std::uint64_t>(ru1.ru_minflt - ru0.ru_minflt);
  return run;
}

}  // namespace ppi::inference::test
