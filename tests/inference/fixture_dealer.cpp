// TEST FIXTURE (see fixture_dealer.hpp): a trusted dealer of 64-bit material for in-process runs.

#include "fixture_dealer.hpp"

#include <string>
#include <utility>

#include "compute/ring_kernels.hpp"
#include "core/error.hpp"
#include "crypto/csprng.hpp"
#include "crypto/prg.hpp"

namespace ppi::inference::test {

using material::Kind;
using mpc::SecretWords;

namespace {

// x = half0 + half1 with half1 = s uniform: (x - s, s).
std::pair<SecretWords, SecretWords> split_add(const SecretWords& x, SecretWords s) {
  SecretWords mine(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) mine[i] = x[i] - s[i];
  return {std::move(mine), std::move(s)};
}

std::pair<SecretWords, SecretWords> split_xor(const SecretWords& x, SecretWords s) {
  SecretWords mine(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) mine[i] = x[i] ^ s[i];
  return {std::move(mine), std::move(s)};
}

std::string describe(const FixtureDealer::Demand& d) {
  return material::to_string(d.type) + " x" + std::to_string(d.count);
}

}  // namespace

class FixtureDealer::PartySource final : public mpc::MaterialSource {
 public:
  PartySource(FixtureDealer& dealer, int who) : dealer_(dealer), who_(who) {}

  mpc::Triples triples(std::size_t count) override {
    Half h = next({mpc::plan_type(Kind::triple), count});
    return triple_of(h, count, count, count);
  }
  mpc::Triples matrix_triple(std::uint32_t m, std::uint32_t k, std::uint32_t n) override {
    Half h = next({mpc::plan_type(Kind::matrix_triple, m, k, n), 1});
    return triple_of(h, std::size_t{m} * k, std::size_t{k} * n, std::size_t{m} * n);
  }
  mpc::TruncPairs trunc(std::uint32_t f, std::size_t count) override {
    Half h = next({mpc::plan_type(Kind::trunc, 0, 0, 0, f), count});
    if (h.empty()) return {SecretWords(count), SecretWords(count), SecretWords(count)};
    return {std::move(h[0]), std::move(h[1]), std::move(h[2])};
  }
  mpc::Dabits dabits(std::size_t count) override {
    Half h = next({mpc::plan_type(Kind::dabit), count});
    if (h.empty()) return {SecretWords(count), SecretWords((count + 63) / 64)};
    return {std::move(h[0]), std::move(h[1])};
  }
  mpc::BitTriples bit_triples(std::size_t words) override {
    Half h = next({mpc::plan_type(Kind::bit_triple), words});
    if (h.empty()) return {SecretWords(words), SecretWords(words), SecretWords(words)};
    return {std::move(h[0]), std::move(h[1]), std::move(h[2])};
  }
  mpc::WeightMask weight_mask(std::uint32_t k, std::uint32_t n) override {
    std::uint64_t id = 0;
    Half h = next({mpc::plan_type(Kind::weight_mask, 0, k, n), 1}, &id);
    return {k, n, id, h.empty() ? SecretWords{} : std::move(h[0])};
  }
  mpc::MaskedTriple masked_triple(std::uint32_t m, const mpc::WeightMask& mask) override {
    Half h = next({mpc::plan_type(Kind::masked_triple, m, mask.k, mask.n), 1, mask.id});
    const std::size_t mk = std::size_t{m} * mask.k, mn = std::size_t{m} * mask.n;
    if (h.empty()) return {SecretWords(mk), SecretWords(mn)};
    return {std::move(h[0]), std::move(h[1])};
  }

 private:
  static mpc::Triples triple_of(Half& h, std::size_t a, std::size_t b, std::size_t c) {
    if (h.empty()) return {SecretWords(a), SecretWords(b), SecretWords(c)};
    return {std::move(h[0]), std::move(h[1]), std::move(h[2])};
  }
  // The prefetcher gets an empty half and returns zeros of the right sizes (it records only).
  Half next(const Demand& d, std::uint64_t* mask_id = nullptr) {
    Half h = dealer_.take(who_, index_, d, mask_id);
    ++index_;
    return h;
  }

  FixtureDealer& dealer_;
  int who_;
  std::uint64_t index_ = 0;
};

FixtureDealer::FixtureDealer() : prg_(random_seed()) {
  for (int who = 0; who < 3; ++who) sources_[who] = std::make_unique<PartySource>(*this, who);
}

FixtureDealer::FixtureDealer(const Seed128& seed, mpc::Role keep)
    : prg_(seed), keep_(static_cast<int>(keep)) {
  for (int who = 0; who < 3; ++who) sources_[who] = std::make_unique<PartySource>(*this, who);
}

SecretWords FixtureDealer::random_words(std::size_t n) {
  SecretWords out(n);
  prg_.fill_bytes(block_, {reinterpret_cast<std::uint8_t*>(out.data()), n * sizeof(u64)});
  block_ += (n * sizeof(u64) + 15) / 16;
  return out;
}
FixtureDealer::~FixtureDealer() = default;

mpc::MaterialSource& FixtureDealer::source(mpc::Role role) {
  return *sources_[static_cast<int>(role)];
}
mpc::MaterialSource& FixtureDealer::prefetcher() {
  return *sources_[2];
}

std::uint64_t FixtureDealer::made() const {
  std::lock_guard lock(mu_);
  return made_;
}
std::uint64_t FixtureDealer::taken_by(mpc::Role role) const {
  std::lock_guard lock(mu_);
  return taken_[static_cast<int>(role)];
}
std::uint64_t FixtureDealer::words_held() const {
  std::lock_guard lock(mu_);
  std::uint64_t words = 0;
  for (const auto& [index, m] : pending_) {
    for (int who = 0; who < 2; ++who) {
      for (const SecretWords& w : m.half[who]) words += w.size();
    }
  }
  return words;
}

FixtureDealer::Half FixtureDealer::take(int who, std::uint64_t index, const Demand& asked,
                                        std::uint64_t* mask_id) {
  std::lock_guard lock(mu_);
  if (index == made_) make(asked);
  auto it = pending_.find(index);
  if (it == pending_.end()) {
    // The prefetcher may run behind the parties: what they took is gone, and that is fine.
    if (who == 2) return {};
    throw Error(Errc::internal, "fixture dealer: demand " + std::to_string(index) + " taken twice");
  }
  Made& m = it->second;
  Demand expected = asked;
  // A WEIGHT_MASK learns its id from the dealer; a MASKED_TRIPLE names the one it uses.
  if (asked.type.kind != Kind::masked_triple) expected.mask_id = m.demand.mask_id;
  if (!(m.demand == expected)) {
    throw Error(Errc::conflict, "the programs diverged at demand " + std::to_string(index) + ": " +
                                    describe(asked) + " asked, " + describe(m.demand) + " made");
  }
  if (mask_id != nullptr) *mask_id = m.demand.mask_id;
  if (who == 2) return {};
  if (keep_ >= 0 && who != keep_) {
    throw Error(Errc::internal, "fixture dealer: this process keeps the other party's material");
  }
  if (m.taken[who]) {
    throw Error(Errc::internal, "fixture dealer: demand " + std::to_string(index) + " taken twice");
  }
  Half out = std::move(m.half[who]);
  m.taken[who] = true;
  ++taken_[who];
  if ((m.taken[0] && m.taken[1]) || keep_ >= 0) pending_.erase(it);
  return out;
}

void FixtureDealer::make(const Demand& d) {
  Made m;
  m.demand = d;
  auto add_pair = [&](std::pair<SecretWords, SecretWords> halves) {
    if (keep_ != 1) m.half[0].push_back(std::move(halves.first));
    if (keep_ != 0) m.half[1].push_back(std::move(halves.second));
  };
  auto split = [&](const SecretWords& x) { return split_add(x, random_words(x.size())); };
  auto split_bits = [&](const SecretWords& x) { return split_xor(x, random_words(x.size())); };
  const material::MaterialType& t = d.type;
  switch (t.kind) {
    case Kind::triple: {
      SecretWords a = random_words(d.count), b = random_words(d.count), c(d.count);
      for (std::size_t i = 0; i < d.count; ++i) c[i] = a[i] * b[i];
      add_pair(split(a));
      add_pair(split(b));
      add_pair(split(c));
      break;
    }
    case Kind::matrix_triple: {
      SecretWords a = random_words(std::size_t{t.m} * t.k),
                  b = random_words(std::size_t{t.k} * t.n);
      SecretWords c(std::size_t{t.m} * t.n);
      compute::make_cpu_kernels()->gemm(a, b, c, t.m, t.k, t.n);
      add_pair(split(a));
      add_pair(split(b));
      add_pair(split(c));
      break;
    }
    case Kind::trunc: {
      SecretWords r = random_words(d.count), low(d.count), msb(d.count);
      for (std::size_t i = 0; i < d.count; ++i) {
        low[i] = (r[i] & ((u64{1} << 63) - 1)) >> t.f;
        msb[i] = r[i] >> 63;
      }
      add_pair(split(r));
      add_pair(split(low));
      add_pair(split(msb));
      break;
    }
    case Kind::dabit: {
      SecretWords words = random_words((d.count + 63) / 64), arith(d.count);
      for (std::size_t i = 0; i < d.count; ++i) arith[i] = (words[i / 64] >> (i % 64)) & 1;
      add_pair(split(arith));
      add_pair(split_bits(words));
      break;
    }
    case Kind::bit_triple: {
      SecretWords a = random_words(d.count), b = random_words(d.count), c(d.count);
      for (std::size_t i = 0; i < d.count; ++i) c[i] = a[i] & b[i];
      add_pair(split_bits(a));
      add_pair(split_bits(b));
      add_pair(split_bits(c));
      break;
    }
    case Kind::weight_mask: {
      // mo_clear: the model owner holds B, the client 0.
      auto& list = masks_[{t.k, t.n}];
      m.demand.mask_id = list.size();
      SecretWords b = random_words(std::size_t{t.k} * t.n);
      list.push_back(b);
      if (keep_ != 1) m.half[0].push_back(std::move(b));
      if (keep_ != 0) m.half[1].push_back(SecretWords(std::size_t{t.k} * t.n, 0));
      break;
    }
    case Kind::masked_triple: {
      auto it = masks_.find({t.k, t.n});
      if (it == masks_.end() || d.mask_id >= it->second.size()) {
        throw Error(Errc::conflict, "MASKED_TRIPLE with WEIGHT_MASK instance " +
                                        std::to_string(d.mask_id) + " that was never made");
      }
      SecretWords a = random_words(std::size_t{t.m} * t.k), c(std::size_t{t.m} * t.n);
      compute::make_cpu_kernels()->gemm(a, it->second[d.mask_id], c, t.m, t.k, t.n);
      add_pair(split(a));
      add_pair(split(c));
      break;
    }
    default:
      throw Error(Errc::invalid_argument, "fixture dealer: no online use of " + describe(d));
  }
  pending_.emplace(made_, std::move(m));
  ++made_;
}

}  // namespace ppi::inference::test
