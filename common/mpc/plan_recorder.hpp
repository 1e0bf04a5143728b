#pragma once
// Deriving a model's material plan from its program: run the program once with a PlanRecorder
// as its material source and a RecordingChannel as its channel. Both hand out zeros, so the
// program runs to the end without a peer or a batch, and the recorder writes down every demand
// in order. The plan is then exactly what the same program consumes from a real batch, and the
// channel's counters are the rounds and bytes the real run will use.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "material/mask_pairing.hpp"
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
  // Error(invalid_argument) unless the batch being recorded pairs its next MASKED_TRIPLE with
  // `mask` (material/mask_pairing.hpp): the last WEIGHT_MASK_k_n taken since forget_demands if
  // there is one, else the setup's masks of that shape in the order taken, cycling. So a
  // program must use a mask before it takes another of the same shape, and a later pass must
  // use the setup's masks in setup order.
  MaskedTriple masked_triple(std::uint32_t m, const WeightMask& mask) override;

  // The demands so far, consecutive demands of one type merged into one item. Error
  // (invalid_argument) when nothing was demanded (a plan is never empty).
  material::MaterialPlan plan() const;
  // Ends a setup phase, at most once (else Error(invalid_argument)): what it consumed comes
  // from masks held per model and dealer group, so it stays out of the plan, and the
  // WEIGHT_MASKs it took become the mask plan that the rest of the program pairs with.
  void forget_demands();
  // The WEIGHT_MASKs taken before forget_demands, in order and merged; nullopt when there was
  // none (or no forget_demands).
  const std::optional<material::MaterialPlan>& mask_plan() const { return mask_plan_; }

 private:
  void record(const material::MaterialType& type, std::uint64_t count);

  std::vector<material::PlanItem> items_;
  std::uint64_t elements_ = 0;                  // of items_
  std::uint64_t bit_words_ = 0;                 // BIT_TRIPLE words demanded so far
  std::vector<material::PlanItem> mask_items_;  // every WEIGHT_MASK demanded, merged
  std::optional<material::MaterialPlan> mask_plan_;
  bool forgotten_ = false;
  material::MaskPairer masks_;
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
  // The setup's WEIGHT_MASKs (PlanRecorder::mask_plan): the plan's masks outside it.
  std::optional<material::MaterialPlan> mask_plan = std::nullopt;
};

// Runs `program` once as `role` with a PlanRecorder, a RecordingChannel and kernels that
// compute nothing (all shares are zeros, and a program's control flow never depends on a
// secret). Error(invalid_argument) if the program demanded no material. A `setup`, when given,
// runs first on the same recorder with a channel of its own, and neither its demands nor its
// traffic are in the plan: the weight masks it takes are the result's mask plan.
RecordedProgram record_program(Role role, const std::function<void(Party&)>& program,
                               int frac_bits = kDefaultFracBits,
                               int magnitude_bits = kMaxMagnitudeBits,
                               const std::function<void(Party&)>& setup = {});

}  // namespace ppi::mpc
