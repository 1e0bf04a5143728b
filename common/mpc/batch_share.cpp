#include "mpc/batch_share.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "core/error.hpp"
#include "material/material_type.hpp"

namespace ppi::mpc {

using material::Kind;
using material::MaterialType;

BatchShare::BatchShare(material::MaterialPlan plan, u128 mac_key_share, Bytes elements)
    : plan_(std::move(plan)),
      layout_(plan_),
      mac_key_share_(mac_key_share),
      elements_(std::move(elements)) {
  if (elements_.size() / kElementBytes != layout_.element_count() ||
      elements_.size() % kElementBytes != 0) {
    const std::size_t got = elements_.size();
    cleanse(elements_);
    throw Error(Errc::invalid_argument,
                "batch share holds " + std::to_string(got) + " bytes; its plan needs " +
                    std::to_string(layout_.element_count()) + " elements of 32 bytes");
  }
}

BatchShare::~BatchShare() {
  cleanse(elements_);
  mac_key_share_ = 0;
}

u64 BatchShare::value(std::uint64_t e) const {
  return load_u64_le(elements_.data() + e * kElementBytes);
}

SecretWords BatchShare::values(std::uint64_t first, std::uint64_t count) const {
  SecretWords out(count);
  for (std::uint64_t i = 0; i < count; ++i) out[i] = value(first + i);
  return out;
}

u64 BatchShare::boolean_word(std::uint64_t e, unsigned w) const {
  return load_u64_le(elements_.data() + e * kElementBytes + w * sizeof(u64));
}

BatchCursor::BatchCursor(const BatchShare& share, const material::MaterialPlan* mask_plan)
    : share_(share), masks_(share.plan(), mask_plan) {
  const auto& items = share.plan().items();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const material::PlanItem& item = items[i];
    const Run run{share.plan().offset_of(i), item.count, i};
    auto tc = std::find_if(types_.begin(), types_.end(),
                           [&](const TypeCursor& c) { return c.type == item.type; });
    if (tc == types_.end()) {
      types_.push_back(
          TypeCursor{item.type, material::elements_per_item(item.type), {}, 0, 0, 0, 0});
      tc = types_.end() - 1;
    }
    tc->runs.push_back(run);
    tc->remaining += item.count;
  }
}

BatchCursor::TypeCursor& BatchCursor::require(const MaterialType& type, std::uint64_t count,
                                              const std::string& unit) {
  auto tc = std::find_if(types_.begin(), types_.end(),
                         [&](const TypeCursor& c) { return c.type == type; });
  const std::uint64_t left = tc == types_.end() ? 0 : tc->remaining;
  if (left < count) {
    throw Error(Errc::conflict, "batch has too little " + material::to_string(type) +
                                    " material: the program needs " + std::to_string(count) +
                                    " more " + unit + ", " + std::to_string(left) + " remain");
  }
  return *tc;
}

std::uint64_t BatchCursor::take_one(TypeCursor& tc) {
  const Run& r = tc.runs[tc.run];
  const std::uint64_t first = r.first + tc.next * tc.per;
  if (++tc.next == r.count) {
    ++tc.run;
    tc.next = 0;
  }
  --tc.remaining;
  ++tc.taken;
  return first;
}

std::array<SecretWords, 3> BatchCursor::take_triplets(const MaterialType& type, std::size_t count) {
  std::array<SecretWords, 3> out{SecretWords(count), SecretWords(count), SecretWords(count)};
  if (count == 0) return out;
  TypeCursor& tc = require(type, count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t e = take_one(tc);
    for (unsigned j = 0; j < 3; ++j) out[j][i] = share_.value(e + j);
  }
  return out;
}

Triples BatchCursor::triples(std::size_t count) {
  auto [a, b, c] = take_triplets(plan_type(Kind::triple), count);
  return {std::move(a), std::move(b), std::move(c)};
}

Triples BatchCursor::matrix_triple(std::uint32_t m, std::uint32_t k, std::uint32_t n) {
  TypeCursor& tc = require(plan_type(Kind::matrix_triple, m, k, n), 1);
  const std::uint64_t mk = std::uint64_t{m} * k, kn = std::uint64_t{k} * n,
                      mn = std::uint64_t{m} * n;
  const std::uint64_t e = take_one(tc);
  return {share_.values(e, mk), share_.values(e + mk, kn), share_.values(e + mk + kn, mn)};
}

TruncPairs BatchCursor::trunc(std::uint32_t f, std::size_t count) {
  auto [r, low, msb] = take_triplets(plan_type(Kind::trunc, 0, 0, 0, f), count);
  return {std::move(r), std::move(low), std::move(msb)};
}

Dabits BatchCursor::dabits(std::size_t count) {
  Dabits d{SecretWords(count), SecretWords((count + 63) / 64)};
  if (count == 0) return d;
  TypeCursor& tc = require(plan_type(Kind::dabit), count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t e = take_one(tc);
    d.arith[i] = share_.value(e);
    d.bits[i / 64] |= (share_.boolean_word(e + 1, 0) & 1) << (i % 64);
  }
  return d;
}

BitTriples BatchCursor::bit_triples(std::size_t words) {
  BitTriples t{SecretWords(words), SecretWords(words), SecretWords(words)};
  if (words == 0) return t;
  const std::uint64_t in_hand = kBitTripleWords - bit_word_;
  TypeCursor* tc = nullptr;
  if (words > in_hand) {
    const std::uint64_t items = (words - in_hand + kBitTripleWords - 1) / kBitTripleWords;
    tc = &require(plan_type(Kind::bit_triple), items,
                  "items (" + std::to_string(words) + " words of 64 AND triples asked)");
  }
  for (std::size_t w = 0; w < words; ++w) {
    if (bit_word_ == kBitTripleWords) {
      bit_first_ = take_one(*tc);
      bit_word_ = 0;
    }
    t.a[w] = share_.boolean_word(bit_first_, bit_word_);
    t.b[w] = share_.boolean_word(bit_first_ + 1, bit_word_);
    t.c[w] = share_.boolean_word(bit_first_ + 2, bit_word_);
    ++bit_word_;
  }
  return t;
}

WeightMask BatchCursor::weight_mask(std::uint32_t k, std::uint32_t n) {
  TypeCursor& tc = require(plan_type(Kind::weight_mask, 0, k, n), 1);
  const material::MaskRef self = masks_.mask_of(tc.runs[tc.run].item, tc.next);
  const std::uint64_t e = take_one(tc);
  return {k, n, self.id, share_.values(e, std::uint64_t{k} * n), self.ordinal};
}

MaskedTriple BatchCursor::masked_triple(std::uint32_t m, const WeightMask& mask) {
  const MaterialType type = plan_type(Kind::masked_triple, m, mask.k, mask.n);
  TypeCursor& tc = require(type, 1);
  const std::size_t item = tc.runs[tc.run].item;
  const std::optional<material::MaskRef> paired = masks_.find(item, tc.next);
  // The ordinal tells a mask of the batch from one of the mask set with the same id.
  if (!paired || paired->id != mask.id || paired->ordinal != mask.ordinal) {
    const std::string made =
        !paired ? std::string(" has no WEIGHT_MASK before it and no mask plan that holds one")
                : " was made with WEIGHT_MASK instance " + std::to_string(paired->id) + " of the " +
                      (paired->in_mask_plan ? "mask set" : "batch");
    throw Error(Errc::conflict, "the batch's next " + material::to_string(type) + " (plan item " +
                                    std::to_string(item) + ", instance " + std::to_string(tc.next) +
                                    ")" + made + ", the layer holds instance " +
                                    std::to_string(mask.id) + " (mask ordinal " +
                                    std::to_string(mask.ordinal) + ")");
  }
  const std::uint64_t mk = std::uint64_t{m} * mask.k, mn = std::uint64_t{m} * mask.n;
  const std::uint64_t e = take_one(tc);
  return {share_.values(e, mk), share_.values(e + mk, mn)};
}

std::uint64_t BatchCursor::remaining(const MaterialType& type) const {
  auto tc = std::find_if(types_.begin(), types_.end(),
                         [&](const TypeCursor& c) { return c.type == type; });
  return tc == types_.end() ? 0 : tc->remaining;
}

std::uint64_t BatchCursor::remaining_total() const {
  std::uint64_t total = 0;
  for (const TypeCursor& tc : types_) total += tc.remaining;
  return total;
}

MaskSetCursor::MaskSetCursor(const material::MaterialPlan& mask_plan, const BatchShare* share)
    : pairer_(&mask_plan), share_(share) {
  if (share != nullptr && !(share->plan() == mask_plan)) {
    throw Error(Errc::invalid_argument, "the mask set's share is not of the model's mask plan");
  }
  for (const material::PlanItem& item : mask_plan.items()) {
    taken_and_count_[{item.type.k, item.type.n}].second += item.count;
  }
}

WeightMask MaskSetCursor::weight_mask(std::uint32_t k, std::uint32_t n) {
  auto it = taken_and_count_.find({k, n});
  if (it == taken_and_count_.end() || it->second.first == it->second.second) {
    throw Error(Errc::conflict, "the mask set has no " +
                                    material::to_string(plan_type(Kind::weight_mask, 0, k, n)) +
                                    " left");
  }
  const material::MaskRef ref = pairer_.in_mask_plan(k, n, it->second.first++);
  SecretWords b;
  if (share_ != nullptr) b = share_->values(ref.first_element, std::uint64_t{k} * n);
  return {k, n, ref.id, std::move(b), ref.ordinal};
}

}  // namespace ppi::mpc
