#pragma once
// TEST FIXTURE: a trusted dealer for tests and benchmarks only. It sees every secret and is
// never linked into an executable (the real dealers generate material jointly, PROTOCOL.md
// section 4, and the conversion turns it into the parties' shares). It hands the two parties
// of one in-process run their additive shares mod 2^64 of real material (the relations hold,
// randomness from a CSPRNG-seeded PRG), made on demand in the order the programs ask for it,
// without the 32-byte batch layout or MACs: the GPT-2-small weight masks alone would be 5 GiB
// per party in that layout.
//
// Both parties' programs ask for the same material in the same order (the plan recorder relies
// on it too); the dealer makes demand i for both when the first party asks for it, and keeps
// the other party's half until that party asks. A party whose demand differs from the other's
// i-th demand gets Error(conflict): the programs diverged. prefetch() makes material ahead of
// the parties (running a program in recording mode against it), so that a timed run does not
// include making it.
//
// For two processes (bench_online_gpt2), each runs a dealer from the same seed that keeps only
// its own party's halves: the material is made in the same order from the same PRG stream, so
// the two processes hold matching shares without talking.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "crypto/csprng.hpp"
#include "crypto/prg.hpp"
#include "material/material_type.hpp"
#include "mpc/material_source.hpp"
#include "mpc/party.hpp"

namespace ppi::inference::test {

class FixtureDealer {
 public:
  // A CSPRNG seed, and both parties' halves kept.
  FixtureDealer();
  // Material from the PRG of `seed`; only `keep`'s halves are kept (the other party's source
  // must not be used).
  FixtureDealer(const Seed128& seed, mpc::Role keep);
  ~FixtureDealer();
  FixtureDealer(const FixtureDealer&) = delete;
  FixtureDealer& operator=(const FixtureDealer&) = delete;

  // The source party `role` takes its material from; it lives as long as the dealer.
  mpc::MaterialSource& source(mpc::Role role);
  // A source that makes material for both parties without taking any: recording a program
  // against it (as the client, on zero inputs) fills the dealer ahead of the real run.
  mpc::MaterialSource& prefetcher();

  // Demands made so far, and those both parties have taken.
  std::uint64_t made() const;
  std::uint64_t taken_by(mpc::Role role) const;
  // Words of material held for parties that have not taken it yet.
  std::uint64_t words_held() const;

  struct Demand {
    material::MaterialType type;
    std::uint64_t count = 0;    // instances, or BIT_TRIPLE words
    std::uint64_t mask_id = 0;  // MASKED_TRIPLE: the WEIGHT_MASK instance it is made with
    bool operator==(const Demand&) const = default;
  };
  // The two parties' halves of one demand: element j of the payload is the j-th vector of the
  // material struct (a, b, c; r, r_low_shifted, r_msb; ...).
  using Half = std::vector<mpc::SecretWords>;
  using SecretWords = mpc::SecretWords;

 private:
  class PartySource;
  struct Made {
    Demand demand;
    Half half[2];
    bool taken[2] = {false, false};
  };

  // Party `who` (0, 1, or 2 for the prefetcher) asks for demand number `index`: returns its
  // half (empty for the prefetcher), and the WEIGHT_MASK instance id in `mask_id`.
  Half take(int who, std::uint64_t index, const Demand& d, std::uint64_t* mask_id);
  void make(const Demand& d);

  SecretWords random_words(std::size_t n);

  mutable std::mutex mu_;
  Prg prg_;
  u128 block_ = 0;                         // the next PRG block
  int keep_ = -1;                          // 0 or 1: the party whose halves are kept; -1: both
  std::map<std::uint64_t, Made> pending_;  // index -> made, not yet taken by both
  std::uint64_t made_ = 0;
  std::uint64_t taken_[2] = {0, 0};
  // WEIGHT_MASK instances by (k, n), in the order made: B in the clear, for MASKED_TRIPLEs.
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<mpc::SecretWords>> masks_;
  std::unique_ptr<PartySource> sources_[3];
};

}  // namespace ppi::inference::test
