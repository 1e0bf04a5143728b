#include "two_party.hpp"

#include <exception>
#include <optional>
#include <thread>

#include "compute/ring_kernels.hpp"
#include "core/error.hpp"
#include "crypto/csprng.hpp"
#include "crypto/prg.hpp"
#include "material_fixture.hpp"
#include "mpc/batch_share.hpp"
#include "mpc/channel.hpp"
#include "mpc/plan_recorder.hpp"

namespace ppi::mpc::test {

std::vector<u64> TwoPartyRun::opened(std::size_t k) const {
  return add(mo.out.at(k), client.out.at(k));
}

namespace {

// A channel that keeps a copy of every word its party sends.
class TapChannel final : public Channel {
 public:
  TapChannel(std::unique_ptr<Channel> inner, std::vector<u64>& sent)
      : inner_(std::move(inner)), sent_(sent) {}

 protected:
  void post(std::span<const u64> words) override {
    sent_.insert(sent_.end(), words.begin(), words.end());
    inner_->send(words);
  }
  std::vector<u64> next_message(std::size_t expected) override { return inner_->receive(expected); }

 private:
  std::unique_ptr<Channel> inner_;
  std::vector<u64>& sent_;
};

// Without `masks`, the batch carries its own masks and the mask-set cursor stays unused.
void run_party(Role role, const material::MaterialPlan& plan, ppi::test::PartyShare& share,
               const FixtureMaskSet* masks, std::unique_ptr<Channel> channel,
               const MaskSetProgram& program, int frac_bits, bool transcript, PartyRun& result,
               std::exception_ptr& error) {
  if (transcript) channel = std::make_unique<TapChannel>(std::move(channel), result.sent);
  try {
    const BatchShare batch(plan, share.mac_key_share, std::move(share.elements));
    BatchCursor cursor(batch, masks ? &masks->plan : nullptr);
    std::optional<BatchShare> mask_share;
    if (masks != nullptr && role == Role::model_owner) {
      mask_share.emplace(masks->plan, masks->shares.model_owner.mac_key_share,
                         Bytes(masks->shares.model_owner.elements));
    }
    std::optional<MaskSetCursor> mask_cursor;
    if (masks != nullptr) mask_cursor.emplace(masks->plan, mask_share ? &*mask_share : nullptr);
    auto kernels = compute::make_cpu_kernels();
    Party party(role, *channel, cursor, *kernels, frac_bits);
    result.out = program(party, mask_cursor ? &*mask_cursor : nullptr);
    result.rounds = channel->rounds();
    result.bytes_sent = channel->bytes_sent();
    result.bytes_received = channel->bytes_received();
    result.material_left = cursor.remaining_total();
  } catch (...) {
    error = std::current_exception();
  }
  channel.reset();  // wakes a peer still waiting for this party
}

TwoPartyRun run_both(const material::MaterialPlan& plan, ppi::test::TwoPartyBatch batch,
                     const FixtureMaskSet* masks, const MaskSetProgram& program, int frac_bits,
                     bool transcripts = false) {
  auto [c0, c1] = make_local_channel_pair();
  TwoPartyRun run;
  std::exception_ptr e0, e1;
  std::thread client(run_party, Role::client, std::cref(plan), std::ref(batch.client), masks,
                     std::move(c1), std::cref(program), frac_bits, transcripts,
                     std::ref(run.client), std::ref(e1));
  run_party(Role::model_owner, plan, batch.model_owner, masks, std::move(c0), program, frac_bits,
            transcripts, run.mo, e0);
  client.join();
  if (e0 && e1 && is_peer_closed(e0)) std::rethrow_exception(e1);
  if (e0) std::rethrow_exception(e0);
  if (e1) std::rethrow_exception(e1);
  return run;
}

}  // namespace

bool is_peer_closed(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const Error& err) {
    return err.code() == Errc::unavailable;
  } catch (...) {
    return false;
  }
}

TwoPartyRun run_two_party(const material::MaterialPlan& plan, const Program& program,
                          int frac_bits) {
  return run_both(
      plan, ppi::test::make_two_party_batch(plan), nullptr,
      [&](Party& p, MaskSetCursor*) { return program(p); }, frac_bits);
}

FixtureMaskSet make_fixture_mask_set(const material::MaterialPlan& mask_plan) {
  ppi::test::TwoPartyBatch shares = ppi::test::make_two_party_batch(mask_plan);
  ppi::test::MaskSet values = ppi::test::mask_set_of(mask_plan, shares);
  return {mask_plan, std::move(shares), std::move(values)};
}

TwoPartyRun run_two_party(const material::MaterialPlan& plan, const FixtureMaskSet& masks,
                          const MaskSetProgram& program, int frac_bits, bool transcripts) {
  return run_both(plan, ppi::test::make_two_party_batch(plan, 3, &masks.values), &masks, program,
                  frac_bits, transcripts);
}

TwoPartyRun run_recorded(const Program& program, int frac_bits) {
  const RecordedProgram rec = record_program(
      Role::model_owner, [&](Party& p) { program(p); }, frac_bits);
  return run_two_party(rec.plan, program, frac_bits);
}

std::vector<u64> random_words(std::size_t n) {
  Prg prg(random_seed());
  std::vector<u64> out(n);
  prg.fill_bytes(0, {reinterpret_cast<std::uint8_t*>(out.data()), n * sizeof(u64)});
  return out;
}

std::vector<u64> random_signed(std::size_t n, int bits) {
  std::vector<u64> out = random_words(n);
  const u64 bound = u64{1} << bits;
  for (u64& v : out) {
    // A (bits + 1)-bit two's complement value, with -2^bits (|x| = 2^bits) moved to 0.
    v = static_cast<u64>(as_signed(v) >> (63 - bits));
    if (v == ~bound + 1) v = 0;
  }
  return out;
}

Split split(std::span<const u64> x) {
  Split s;
  s.client = random_words(x.size());
  s.mo = sub(x, s.client);
  return s;
}

const std::vector<u64>& mine(const Party& p, const Split& s) {
  return p.is_model_owner() ? s.mo : s.client;
}

std::vector<u64> plain_matmul(std::span<const u64> a, std::span<const u64> b, std::size_t m,
                              std::size_t k, std::size_t n) {
  std::vector<u64> c(m * n, 0);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      u64 acc = 0;
      for (std::size_t t = 0; t < k; ++t) acc += a[i * k + t] * b[t * n + j];
      c[i * n + j] = acc;
    }
  }
  return c;
}

}  // namespace ppi::mpc::test
