#include "mpc/plan_recorder.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "material/material_type.hpp"

namespace ppi::mpc {

using material::Kind;
using material::MaterialType;

void PlanRecorder::record(const MaterialType& type, std::uint64_t count) {
  if (count == 0) return;
  if (!items_.empty() && items_.back().type == type) {
    items_.back().count += count;
  } else {
    items_.push_back({type, count});
  }
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
  record(plan_type(Kind::weight_mask, 0, k, n), 1);
  const std::uint64_t id = masks_[{k, n}]++;
  return {k, n, id, SecretWords(std::uint64_t{k} * n)};
}

MaskedTriple PlanRecorder::masked_triple(std::uint32_t m, const WeightMask& mask) {
  auto it = masks_.find({mask.k, mask.n});
  // Masks held outside the batch (after forget_demands) are each a long-lived instance: any one
  // taken may be used; inside a batch only the last of its shape.
  const bool paired =
      it != masks_.end() && (masks_outside_ ? mask.id < it->second : it->second == mask.id + 1);
  if (!paired) {
    throw Error(Errc::invalid_argument,
                "MASKED_TRIPLE for WEIGHT_MASK_" + std::to_string(mask.k) + "_" +
                    std::to_string(mask.n) + " instance " + std::to_string(mask.id) +
                    " is not after the last mask of that shape: a batch pairs it with the last "
                    "one, so use each mask before taking the next of the same shape");
  }
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
  return {recorder.plan(), channel.rounds(), channel.bytes_sent(), channel.bytes_received()};
}

void PlanRecorder::forget_demands() {
  masks_outside_ = true;
  items_.clear();
  bit_words_ = 0;
}

material::MaterialPlan PlanRecorder::plan() const {
  if (items_.empty()) {
    throw Error(Errc::invalid_argument, "the recorded program demanded no material");
  }
  return material::MaterialPlan(items_);
}

}  // namespace ppi::mpc
