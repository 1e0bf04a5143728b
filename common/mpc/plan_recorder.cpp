#include "mpc/plan_recorder.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "material/material_type.hpp"

namespace ppi::mpc {

using material::Kind;
using material::MaterialType;

namespace {

void append_merged(std::vector<material::PlanItem>& items, const MaterialType& type,
                   std::uint64_t count) {
  if (!items.empty() && items.back().type == type) {
    items.back().count += count;
  } else {
    items.push_back({type, count});
  }
}

}  // namespace

void PlanRecorder::record(const MaterialType& type, std::uint64_t count) {
  if (count == 0) return;
  elements_ += count * material::elements_per_item(type);
  append_merged(items_, type, count);
}

Triples PlanRecorder::triples(std::size_t count) {
  record(plan_type(Kind::triple), count);
  return {SecretWords(count), SecretWords(count), SecretWords(count)};
}

Triples PlanRecorder::matrix_triple(std::uint32_t m, std::uint32_t k, std::uint32_t n) {
  record(plan_type(Kind::matrix_triple, m, k, n), 1);
  return {SecretWords(std::uint64_t{m} * k), SecretWords(std::uint64_t{k} * n),
          SecretWords(std::uint64_t{m} * n)};
}

TruncPairs PlanRecorder::trunc(std::uint32_t f, std::size_t count) {
  record(plan_type(Kind::trunc, 0, 0, 0, f), count);
  return {SecretWords(count), SecretWords(count), SecretWords(count)};
}

Dabits PlanRecorder::dabits(std::size_t count) {
  record(plan_type(Kind::dabit), count);
  return {SecretWords(count), SecretWords((count + 63) / 64)};
}

BitTriples PlanRecorder::bit_triples(std::size_t words) {
  // Words run on across items (as BatchCursor takes them): only new items are recorded.
  const std::uint64_t items_before = (bit_words_ + kBitTripleWords - 1) / kBitTripleWords;
  bit_words_ += words;
  const std::uint64_t items_after = (bit_words_ + kBitTripleWords - 1) / kBitTripleWords;
  record(plan_type(Kind::bit_triple), items_after - items_before);
  return {SecretWords(words), SecretWords(words), SecretWords(words)};
}

WeightMask PlanRecorder::weight_mask(std::uint32_t k, std::uint32_t n) {
  const MaterialType type = plan_type(Kind::weight_mask, 0, k, n);
  const material::MaskRef self = masks_.add_masks(k, n, 1, elements_);
  record(type, 1);
  append_merged(mask_items_, type, 1);
  return {k, n, self.id, SecretWords(std::uint64_t{k} * n), self.ordinal};
}

MaskedTriple PlanRecorder::masked_triple(std::uint32_t m, const WeightMask& mask) {
  const std::optional<material::MaskRef> paired = masks_.next(mask.k, mask.n);
  if (!paired || paired->id != mask.id || paired->ordinal != mask.ordinal) {
    throw Error(Errc::invalid_argument,
                "MASKED_TRIPLE for WEIGHT_MASK_" + std::to_string(mask.k) + "_" +
                    std::to_string(mask.n) + " instance " + std::to_string(mask.id) +
                    " is not the mask a batch pairs it with (" +
                    (paired ? (paired->in_mask_plan ? "the setup's instance " : "the last one, ") +
                                  std::to_string(paired->id)
                            : std::string("none")) +
                    "): use each mask before taking the next of the same shape, and a setup's "
                    "masks in the order taken");
  }
  masks_.take(mask.k, mask.n, 1);
  record(plan_type(Kind::masked_triple, m, mask.k, mask.n), 1);
  return {SecretWords(std::uint64_t{m} * mask.k), SecretWords(std::uint64_t{m} * mask.n)};
}

namespace {

// Recording runs on zeros: products need not be computed, only shaped.
class ZeroKernels final : public compute::RingKernels {
 public:
  std::string name() const override { return "zero (recording)"; }
  void gemm(std::span<const u64> a, std::span<const u64> b, std::span<u64> c, std::size_t m,
            std::size_t k, std::size_t n) override {
    compute::check_gemm_shapes(a.size(), b.size(), c.size(), m, k, n);
    std::fill(c.begin(), c.end(), 0);
  }
  void mul(std::span<const u64> x, std::span<const u64> y, std::span<u64> out) override {
    compute::check_mul_shapes(x.size(), y.size(), out.size());
    std::fill(out.begin(), out.end(), 0);
  }
};

}  // namespace

std::unique_ptr<compute::RingKernels> make_recording_kernels() {
  return std::make_unique<ZeroKernels>();
}

RecordedProgram record_program(Role role, const std::function<void(Party&)>& program, int frac_bits,
                               int magnitude_bits, const std::function<void(Party&)>& setup) {
  PlanRecorder recorder;
  ZeroKernels kernels;
  if (setup) {
    RecordingChannel setup_channel;
    Party setup_party(role, setup_channel, recorder, kernels, frac_bits, magnitude_bits);
    setup(setup_party);
    recorder.forget_demands();
  }
  RecordingChannel channel;
  Party party(role, channel, recorder, kernels, frac_bits, magnitude_bits);
  program(party);
  return {recorder.plan(), channel.rounds(), channel.bytes_sent(), channel.bytes_received(),
          recorder.mask_plan()};
}

void PlanRecorder::forget_demands() {
  // A second setup would renumber masks already handed out as the batch's.
  if (forgotten_) throw Error(Errc::invalid_argument, "forget_demands: called twice");
  forgotten_ = true;
  if (!mask_items_.empty()) mask_plan_.emplace(mask_items_);
  masks_ = material::MaskPairer(mask_plan_ ? &*mask_plan_ : nullptr);
  items_.clear();
  elements_ = 0;
  bit_words_ = 0;
}

material::MaterialPlan PlanRecorder::plan() const {
  if (items_.empty()) {
    throw Error(Errc::invalid_argument, "the recorded program demanded no material");
  }
  return material::MaterialPlan(items_);
}

}  // namespace ppi::mpc
