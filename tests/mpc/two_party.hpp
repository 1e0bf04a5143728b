#pragma once
// Test harness: runs one program as both parties of the online phase, in two threads over a
// local channel pair, each party on its own 2PC share of a TEST FIXTURE batch (the trusted
// dealer of tests/support/material_fixture.hpp, converted as the real conversion does). Tests
// then reconstruct outputs from the two parties' shares and compare them with plaintext.

#include <cstdint>
#include <exception>
#include <functional>
#include <span>
#include <vector>

#include "material/plan.hpp"
#include "material_fixture.hpp"
#include "mpc/arith.hpp"
#include "mpc/batch_share.hpp"
#include "mpc/party.hpp"

namespace ppi::mpc::test {

using Program = std::function<std::vector<Shares>(Party&)>;

struct PartyRun {
  std::vector<Shares> out;
  std::uint64_t rounds = 0, bytes_sent = 0, bytes_received = 0;
  std::uint64_t material_left = 0;  // instances of the batch not consumed
  std::vector<u64> sent;            // every word this party sent, with `transcripts`
};

struct TwoPartyRun {
  PartyRun mo, client;
  // Output k reconstructed: mo.out[k] + client.out[k].
  std::vector<u64> opened(std::size_t k) const;
};

// Whether a party's error is the peer having closed the channel (what the other party's real
// error causes): callers rethrow the real one first.
bool is_peer_closed(const std::exception_ptr& e);

// Throws the first party's error (a real one before a "peer has closed" it caused).
TwoPartyRun run_two_party(const material::MaterialPlan& plan, const Program& program,
                          int frac_bits = kDefaultFracBits);
// A TEST FIXTURE mask set (material/mask_pairing.hpp): a two-party batch of `plan` (WEIGHT_MASKs
// only), converted as a batch is, and its B values, with which batches are then made.
struct FixtureMaskSet {
  material::MaterialPlan plan;
  ppi::test::TwoPartyBatch shares;
  ppi::test::MaskSet values;
};
FixtureMaskSet make_fixture_mask_set(const material::MaterialPlan& mask_plan);
// The same on a batch of `plan` made with the mask set's B (`plan` pairs its MASKED_TRIPLEs
// with the mask plan): each party's program also gets a cursor over its side of the mask set
// (the model owner's share; the client's none). The mask set is not consumed: runs may share it.
using MaskSetProgram = std::function<std::vector<Shares>(Party&, MaskSetCursor*)>;
// With `transcripts`, each PartyRun::sent holds every word its party put on the channel.
TwoPartyRun run_two_party(const material::MaterialPlan& plan, const FixtureMaskSet& masks,
                          const MaskSetProgram& program, int frac_bits = kDefaultFracBits,
                          bool transcripts = false);
// Records the program's plan (as the model owner) and runs it on a batch of exactly that plan.
TwoPartyRun run_recorded(const Program& program, int frac_bits = kDefaultFracBits);

// Random test data from a CSPRNG-seeded PRG.
std::vector<u64> random_words(std::size_t n);
// Uniform in (-2^bits, 2^bits), two's complement.
std::vector<u64> random_signed(std::size_t n, int bits);
// Random additive sharing of x: party 0's share (x - s) and party 1's (s).
struct Split {
  std::vector<u64> mo, client;
};
Split split(std::span<const u64> x);
// The share of `s` that party `p` holds.
const std::vector<u64>& mine(const Party& p, const Split& s);

std::vector<u64> plain_matmul(std::span<const u64> a, std::span<const u64> b, std::size_t m,
                              std::size_t k, std::size_t n);
inline std::int64_t as_signed(u64 v) {
  return static_cast<std::int64_t>(v);
}

}  // namespace ppi::mpc::test
