#pragma once
// Deriving a model's material plan from its program: run the program once with a PlanRecorder
// as its material source and a RecordingChannel as its channel. Both hand out zeros, so the
// program runs to the end without a peer or a batch, and the recorder writes down every demand
// in order. The plan is then exactly what the same program consumes from a real batch, and the
// channel's counters are the rounds and bytes the real run will use.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "material/plan.hpp"
#include "mpc/channel.hpp"
#include "mpc/material_source.hpp"
#include "mpc/party.hpp"

namespace ppi::mpc {

class PlanRecorder final : public MaterialSource {
 public:
  Triples triples(std::size_t count) override;
  Triples matrix_triple(std::uint32_t m, std::uint32_t k, std::uint32_t n) override;
  TruncPairs trunc(std::uint32_t f, std::size_t count) override;
  Dabits dabits(std::size_t count) override;
  BitTriples bit_triples(std::size_t words) override;
  WeightMask weight_mask(std::uint32_t k, std::uint32_t n) override;
  // Error(invalid_argument) unless `mask` is the last WEIGHT_MASK_k_n taken: a batch pairs a
  // MASKED_TRIPLE with the last WEIGHT_MASK of its k and n before it (material/verify.hpp), so
  // a program must use a mask before it takes another of the same shape.
  MaskedTriple masked_triple(std::uint32_t m, const WeightMask& mask) override;

  // The demands so far, consecutive demands of one type merged into one item. Error
  // (invalid_argument) when nothing was demanded (a plan is never empty).
  material::MaterialPlan plan() const;
  // Forgets what was demanded so far but keeps the weight masks taken: what a setup phase
  // consumed from another source (masks held per model and dealer group) stays out of the plan,
  // and MASKED_TRIPLEs may then use any of those masks. (How a batch without masks names the
  // mask each MASKED_TRIPLE was made with is for the per-(model, group) mask delivery to fix;
  // BatchCursor today pairs only with masks inside the batch.)
  void forget_demands();

 private:
  void record(const material::MaterialType& type, std::uint64_t count);

  std::vector<material::PlanItem> items_;
  std::uint64_t bit_words_ = 0;  // BIT_TRIPLE words demanded so far
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint64_t> masks_;  // (k, n) -> taken
  bool masks_outside_ = false;  // after forget_demands: masks taken were a setup's
};

// A channel with no peer: what it "receives" is zeros of the expected length.
class RecordingChannel final : public Channel {
 protected:
  void post(std::span<const u64>) override {}
  std::vector<u64> next_message(std::size_t expected) override {
    return std::vector<u64>(expected, 0);
  }
};

// Kernels that compute nothing (every product is zero): what a recording run multiplies with.
std::unique_ptr<compute::RingKernels> make_recording_kernels();

// What running a program in recording mode found: the plan it consumes and its traffic.
struct RecordedProgram {
  material::MaterialPlan plan;
  std::uint64_t rounds = 0, bytes_sent = 0, bytes_received = 0;
};

// Runs `program` once as `role` with a PlanRecorder, a RecordingChannel and kernels that
// compute nothing (all shares are zeros, and a program's control flow never depends on a
// secret). Error(invalid_argument) if the program demanded no material. A `setup`, when given,
// runs first on the same recorder with a channel of its own, and neither its demands (other
// than the weight masks it leaves taken) nor its traffic are in the result.
RecordedProgram record_program(Role role, const std::function<void(Party&)>& program,
                               int frac_bits = kDefaultFracBits,
                               int magnitude_bits = kMaxMagnitudeBits,
                               const std::function<void(Party&)>& setup = {});

}  // namespace ppi::mpc
