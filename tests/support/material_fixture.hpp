#pragma once
// TEST FIXTURE: a trusted dealer for tests only. It sees every secret (the MAC key and every
// value) and is never linked into an executable; the real dealers generate material jointly
// (PROTOCOL.md section 4) and none of them sees a secret. It produces real material (the
// relations hold, randomness from the CSPRNG and a CSPRNG-seeded PRG) split into additive
// dealer shares in the dealers' storage layout, so the conversion, the dealers' storage and
// the verifiers can be tested without the generator.

#include <cstddef>
#include <vector>

#include "core/bytes.hpp"
#include "material/plan.hpp"
#include "ring/z2k.hpp"

namespace ppi::test {

struct FixtureBatch {
  // One blob per dealer: 16 bytes alpha_i, then one 32-byte pair block (x_i[e], m_i[e]) per
  // element; the blobs sum to (alpha, x~[e], alpha * x~[e]).
  std::vector<Bytes> dealer_shares;
  u128 alpha = 0;
};

// The masks a batch's MASKED_TRIPLEs may pair with outside it (material/mask_pairing.hpp): a
// mask plan and its B values, one per element (what opening a batch of that plan gives).
struct MaskSet {
  material::MaterialPlan plan;
  std::vector<u128> values;
};

// `dealers` >= 1, else Error(invalid_argument). Boolean elements are XOR-shared
// (docs/material-layout.md). Each MASKED_TRIPLE is made with the B that
// material/mask_pairing.hpp pairs it with: one of the batch's or, given `masks`, one of the
// mask set's; without one: invalid_argument.
FixtureBatch make_fixture_batch(const material::MaterialPlan& plan, std::size_t dealers,
                                const MaskSet* masks = nullptr);
// The B values of a fixture batch of a mask plan (its dealers' shares opened).
MaskSet mask_set_of(const material::MaterialPlan& mask_plan, const FixtureBatch& batch);

// One party's 2PC share of a batch: its MAC key share and 32 bytes per element.
struct PartyShare {
  u128 mac_key_share = 0;
  Bytes elements;
};

struct TwoPartyBatch {
  PartyShare model_owner, client;  // party 0 and party 1
  u128 alpha = 0;
};

// A fixture batch made by `dealers` trusted-dealer shares and then converted exactly as the
// real conversion does it (material/conversion.hpp): the dealers mask their shares with fresh
// seeds, the model owner combines what it receives, the client expands the seeds.
TwoPartyBatch make_two_party_batch(const material::MaterialPlan& plan, std::size_t dealers = 3,
                                   const MaskSet* masks = nullptr);
// The B values of a two-party batch of a mask plan (its two shares opened).
MaskSet mask_set_of(const material::MaterialPlan& mask_plan, const TwoPartyBatch& batch);

}  // namespace ppi::test
