// The private GPT-2 pass: both roles in two threads on TEST FIXTURE material, against the float
// model and the plaintext fixed-point reference; the committed tiny model against its Python
// reference; the recorded plan against what a batch of it holds; bad options refused before
// anything is sent.

#include <doctest/doctest.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "inference/gpt2_reference.hpp"
#include "material/mask_pairing.hpp"
#include "model/safetensors.hpp"
#include "mpc/plan_recorder.hpp"
#include "private_gpt2.hpp"
#include "random_gpt2.hpp"
#include "ring/fixed_point.hpp"
#include "two_party.hpp"

using namespace ppi;
using namespace ppi::inference;
using ppi::inference::test::Gpt2TwoParty;
using ppi::inference::test::RandomGpt2;
using ppi::inference::test::write_random_gpt2;

namespace {

struct LoadedModel {
  model::Gpt2Weights weights;
  model::Gpt2Shape shape;
  model::Gpt2FixedWeights fixed;
};

LoadedModel load(const std::filesystem::path& dir, int frac_bits) {
  LoadedModel m{model::load_gpt2(dir), {}, {}};
  m.fixed = model::encode_gpt2(model::fold_gpt2(m.weights), frac_bits);
  m.shape = model::Gpt2Shape::of(m.fixed);
  return m;
}

std::filesystem::path temp_dir(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("ppi-gpt2-" + name + "-" + std::to_string(::getpid()));
}

// A random model as Hugging Face files, loaded back (the files are removed).
LoadedModel random_model(const RandomGpt2& dims, const std::string& name, std::uint64_t seed) {
  const auto dir = temp_dir(name);
  write_random_gpt2(dir, dims, seed);
  LoadedModel m = load(dir, 16);
  std::filesystem::remove_all(dir);
  return m;
}

std::vector<std::uint32_t> random_tokens(std::size_t n, int vocab, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(0, vocab - 1);
  std::vector<std::uint32_t> t(n);
  for (auto& x : t) x = static_cast<std::uint32_t>(dist(rng));
  return t;
}

// d 16, 2 heads, 2 layers, 24 positions.
RandomGpt2 small_dims(int vocab) {
  RandomGpt2 dims;
  dims.vocab = vocab;
  dims.d = 16;
  dims.heads = 2;
  return dims;
}

double decode(u64 v, int f) {
  return FixedPoint(f).decode(v);
}

}  // namespace

TEST_CASE("private GPT-2 pass, every position: top-1 of the float model, logits within bound") {
  const RandomGpt2 dims;
  const LoadedModel m = random_model(dims, "random", 11);
  Gpt2TwoParty parties(m.shape, m.fixed);
  const std::vector<std::uint32_t> tokens = random_tokens(13, dims.vocab, 5);
  Gpt2PassOptions o;
  o.bucket = 16;
  o.output = Gpt2PassOptions::Output::all;
  o.reveal_logits = true;
  const inference::test::Gpt2PassRun run = parties.pass(tokens, o);

  REQUIRE(run.client.rows == 16);
  CHECK(run.model_owner.top.empty());  // the model owner learns nothing
  CHECK(run.model_owner.logits.empty());
  const std::vector<double> ref = model::gpt2_float_forward(m.weights, tokens);
  const std::vector<u64> fixed = gpt2_fixed_forward(m.shape, m.fixed, tokens, o);
  const std::size_t v = static_cast<std::size_t>(dims.vocab);
  double worst_float = 0, worst_fixed = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    const auto row = std::span<const double>(ref).subspan(t * v, v);
    const auto best =
        static_cast<std::uint32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    CHECK_MESSAGE(run.client.top[t] == best, "position " << t);
    for (std::size_t j = 0; j < v; ++j) {
      const double priv = decode(run.client.logits[t * v + j], 16);
      worst_float = std::max(worst_float, std::abs(priv - row[j]));
      worst_fixed = std::max(worst_fixed, std::abs(priv - decode(fixed[t * v + j], 16)));
    }
  }
  MESSAGE("max |private - float| logit error: " << worst_float
                                                << ", against fixed point: " << worst_fixed);
  CHECK(worst_float < 0.05);
  CHECK(worst_fixed < 0.02);
}

TEST_CASE(
    "last position, top-3 without logits: the model owner's view does not depend on the length") {
  const RandomGpt2 dims;
  const LoadedModel m = random_model(dims, "last", 12);
  Gpt2PassOptions o;
  o.bucket = 16;
  o.top_k = 3;
  const std::size_t v = static_cast<std::size_t>(dims.vocab);
  std::vector<inference::test::Gpt2PassRun> runs;
  for (std::size_t len : {5, 12}) {
    const std::vector<std::uint32_t> tokens = random_tokens(len, dims.vocab, 7);
    Gpt2TwoParty parties(m.shape, m.fixed);  // each a session's first pass
    const inference::test::Gpt2PassRun run = parties.pass(tokens, o);
    REQUIRE(run.client.rows == 1);
    REQUIRE(run.client.top.size() == 3);
    CHECK(run.client.logits.empty());  // not revealed
    CHECK(run.model_owner.top.empty());
    const std::vector<double> ref = model::gpt2_float_forward(m.weights, tokens);
    const auto row = std::span<const double>(ref).subspan((len - 1) * v, v);
    std::vector<double> sorted(row.begin(), row.end());
    std::sort(sorted.rbegin(), sorted.rend());
    CHECK(row[run.client.top[0]] == sorted[0]);
    for (std::size_t k = 0; k < 3; ++k) {
      // Each of the three is among the float model's best three (up to the logit error).
      CHECK(row[run.client.top[k]] >= sorted[2] - 0.01);
      for (std::size_t j = 0; j < k; ++j) CHECK(run.client.top[k] != run.client.top[j]);
    }
    runs.push_back(run);
  }
  // The model owner sees the bucket, not the length: same rounds and bytes both ways.
  CHECK(runs[0].rounds == runs[1].rounds);
  CHECK(runs[0].bytes_mo_to_client == runs[1].bytes_mo_to_client);
  CHECK(runs[0].bytes_client_to_mo == runs[1].bytes_client_to_mo);
}

TEST_CASE("weights are shared once per session: a later pass sends no F and takes no mask") {
  const RandomGpt2 dims;
  const LoadedModel m = random_model(dims, "session", 13);
  Gpt2TwoParty parties(m.shape, m.fixed);
  Gpt2PassOptions o;
  o.bucket = 8;
  const std::vector<std::uint32_t> tokens = random_tokens(6, dims.vocab, 9);
  const inference::test::Gpt2PassRun first = parties.pass(tokens, o);
  CHECK(parties.model_owner_session().matrices_shared() == 2 + 4 * std::size_t(dims.layers));
  const inference::test::Gpt2PassRun later = parties.pass(tokens, o);
  CHECK(later.client.top == first.client.top);
  const std::size_t d = static_cast<std::size_t>(dims.d), vv = static_cast<std::size_t>(dims.vocab);
  const std::size_t weights_words = 2 * vv * d + std::size_t(dims.layers) * 12 * d * d;
  CHECK(first.bytes_mo_to_client - later.bytes_mo_to_client == 8 * weights_words);
  CHECK(first.rounds - later.rounds == 2 + 4 * std::size_t(dims.layers));
  CHECK(later.bytes_client_to_mo == first.bytes_client_to_mo);
  const mpc::RecordedProgram rec_first = record_gpt2(m.shape, o);
  const mpc::RecordedProgram rec_later = record_gpt2(m.shape, o, true);
  CHECK(rec_first.rounds == first.rounds);
  CHECK(rec_later.rounds == later.rounds);
  CHECK(rec_later.bytes_sent == later.bytes_client_to_mo);
  CHECK(rec_later.bytes_received == later.bytes_mo_to_client);
  for (const material::PlanItem& item : rec_later.plan.items()) {
    CHECK(item.type.kind != material::Kind::weight_mask);
  }
  CHECK(rec_first.plan.element_count() - rec_later.plan.element_count() == weights_words);
}

TEST_CASE("the recorded plan is what a batch of it holds: a converted batch is used up exactly") {
  const RandomGpt2 dims = small_dims(64);
  const LoadedModel m = random_model(dims, "batch", 14);
  Gpt2PassOptions o;
  o.bucket = 6;
  o.top_k = 2;
  o.reveal_logits = true;
  const std::vector<std::uint32_t> tokens = random_tokens(4, dims.vocab, 3);
  const mpc::RecordedProgram rec = record_gpt2(m.shape, o);
  Gpt2Result client;
  const mpc::test::TwoPartyRun run = mpc::test::run_two_party(
      rec.plan,
      [&](mpc::Party& p) -> std::vector<mpc::Shares> {
        Gpt2Session session(m.shape, p.is_model_owner() ? &m.fixed : nullptr);
        Gpt2Result r = run_gpt2(p, session,
                                p.is_model_owner() ? std::span<const std::uint32_t>{}
                                                   : std::span<const std::uint32_t>(tokens),
                                o);
        if (!p.is_model_owner()) client = r;
        return {};
      },
      16);
  CHECK(run.mo.material_left == 0);
  CHECK(run.client.material_left == 0);
  CHECK(run.mo.rounds == rec.rounds);
  CHECK(run.client.bytes_sent == rec.bytes_sent);
  CHECK(run.client.bytes_received == rec.bytes_received);
  const std::vector<double> ref = model::gpt2_float_forward(m.weights, tokens);
  const std::size_t v = static_cast<std::size_t>(dims.vocab);
  const auto row = std::span<const double>(ref).subspan(3 * v, v);
  CHECK(client.top[0] == std::max_element(row.begin(), row.end()) - row.begin());
  REQUIRE(client.logits.size() == v);
  for (std::size_t j = 0; j < v; ++j) CHECK(std::abs(decode(client.logits[j], 16) - row[j]) < 0.05);
}

TEST_CASE(
    "a mask set outside the batches: F is sent once, the client keeps it for later sessions") {
  const RandomGpt2 dims = small_dims(64);
  const LoadedModel m = random_model(dims, "maskset", 16);
  Gpt2PassOptions o;
  o.bucket = 6;
  const std::vector<std::uint32_t> tokens = random_tokens(5, dims.vocab, 4);
  const mpc::RecordedProgram first = record_gpt2(m.shape, o);
  const mpc::RecordedProgram later = record_gpt2(m.shape, o, true);
  const material::MaterialPlan mask_plan = material::mask_plan_of(first.plan);
  REQUIRE(later.mask_plan.has_value());
  CHECK(*later.mask_plan == mask_plan);
  CHECK(later.plan == material::batch_plan_of(first.plan));
  const mpc::test::FixtureMaskSet masks = mpc::test::make_fixture_mask_set(mask_plan);

  // One session per batch, as the actors run them; the client keeps F from the first.
  std::vector<mpc::SecretWords> kept;
  auto session = [&](bool held) {
    std::vector<std::uint32_t> top;
    const mpc::test::TwoPartyRun run = mpc::test::run_two_party(
        later.plan, masks,
        [&](mpc::Party& p, mpc::MaskSetCursor* cursor) -> std::vector<mpc::Shares> {
          const bool mo = p.is_model_owner();
          Gpt2MaskSet set{cursor, held, {}};
          if (held && !mo) set.held_f = kept;
          Gpt2Session s(m.shape, mo ? &m.fixed : nullptr, std::move(set));
          const Gpt2Result r = run_gpt2(
              p, s, mo ? std::span<const std::uint32_t>{} : std::span<const std::uint32_t>(tokens),
              o);
          if (!mo) {
            top = r.top;
            kept.clear();
            for (std::size_t i = 0; i < s.matrices_shared(); ++i) {
              const std::span<const u64> f = s.complement(i);
              kept.emplace_back(f.begin(), f.end());
            }
          }
          return {};
        },
        16);
    CHECK(run.mo.material_left == 0);
    CHECK(run.client.material_left == 0);
    return std::pair{run, top};
  };
  const auto [sent, top_sent] = session(false);
  const auto [held, top_held] = session(true);

  const std::vector<double> ref = model::gpt2_float_forward(m.weights, tokens);
  const std::size_t v = static_cast<std::size_t>(dims.vocab), d = static_cast<std::size_t>(dims.d);
  const auto row = std::span<const double>(ref).subspan(4 * v, v);
  const auto best =
      static_cast<std::uint32_t>(std::max_element(row.begin(), row.end()) - row.begin());
  REQUIRE(top_sent.size() == 1);
  CHECK(top_sent[0] == best);
  CHECK(top_held == top_sent);
  // The first session sends F of every weight (and so takes one round per matrix more); the
  // held one is exactly the recorded later pass.
  const std::size_t weights_words = 2 * v * d + std::size_t(dims.layers) * 12 * d * d;
  CHECK(sent.mo.bytes_sent - held.mo.bytes_sent == 8 * weights_words);
  CHECK(held.mo.rounds == later.rounds);
  CHECK(held.client.bytes_sent == later.bytes_sent);
  CHECK(held.client.bytes_received == later.bytes_received);

  // A held F of the wrong shape is refused before anything runs.
  std::vector<mpc::SecretWords> wrong = kept;
  wrong.back().pop_back();
  mpc::MaskSetCursor client_masks(mask_plan, nullptr);
  CHECK_THROWS_WITH_AS(Gpt2Session(m.shape, nullptr, {&client_masks, true, wrong}),
                       doctest::Contains("is not 16 x 64"), Error);
}

// Greedy generation: a pass then `steps` steps, the client feeding back each token it learns.
struct Generated {
  std::vector<std::uint32_t> tokens;
  mpc::test::TwoPartyRun run;
};

// Generation's batches pair with a mask set (a step uses each weight again, after the other
// layers' masks of its shape); this session receives F, one round and k n words per matrix.
// `stop_after`: the client stops once it has that many tokens (its end-of-text or limit).
Generated generate(const LoadedModel& m, const std::vector<std::uint32_t>& prompt,
                   const Gpt2PassOptions& o, std::uint32_t stop_after = 0) {
  const mpc::RecordedProgram rec = record_gpt2(m.shape, o, true);
  REQUIRE(rec.mask_plan.has_value());
  const mpc::test::FixtureMaskSet masks = mpc::test::make_fixture_mask_set(*rec.mask_plan);
  Generated g;
  std::size_t matrices = 0, weight_words = 0;
  g.run = mpc::test::run_two_party(
      rec.plan, masks,
      [&](mpc::Party& p, mpc::MaskSetCursor* cursor) -> std::vector<mpc::Shares> {
        const bool mo = p.is_model_owner();
        Gpt2Session session(m.shape, mo ? &m.fixed : nullptr, {cursor, false, {}});
        std::vector<std::uint32_t> out;
        const std::uint32_t results = run_gpt2_generation(
            p, session,
            mo ? std::span<const std::uint32_t>{} : std::span<const std::uint32_t>(prompt), o,
            [&](const Gpt2Result& r) -> std::optional<std::uint32_t> {
              out.push_back(r.top.at(0));
              if (out.size() == stop_after) return std::nullopt;
              return out.back();
            });
        CHECK(results == (stop_after > 0 ? stop_after : o.steps + 1));
        if (!mo) {
          g.tokens = out;
          matrices = session.matrices_shared();
          for (std::size_t i = 0; i < matrices; ++i) weight_words += session.complement(i).size();
        }
        return {};
      },
      16);
  if (stop_after > 0) {
    CHECK(g.run.mo.material_left > 0);  // the steps not taken: one-time material left unused
    return g;
  }
  CHECK(matrices == Gpt2Session(m.shape, nullptr).matrix_count());
  CHECK(g.run.mo.material_left == 0);
  CHECK(g.run.client.material_left == 0);
  CHECK(g.run.mo.rounds == rec.rounds + matrices);
  CHECK(g.run.client.bytes_sent == rec.bytes_sent);
  CHECK(g.run.client.bytes_received == rec.bytes_received + 8 * weight_words);
  return g;
}

TEST_CASE("generation with a secret-shared KV cache: each step's token is the float model's") {
  // V not 4 d: wte would share W_out's shape, and a first pass its mask.
  const RandomGpt2 dims = small_dims(60);
  const LoadedModel m = random_model(dims, "generate", 17);
  Gpt2PassOptions o;
  o.bucket = 6;
  o.steps = 6;
  const std::vector<std::uint32_t> prompt = random_tokens(4, dims.vocab, 8);
  const Generated g = generate(m, prompt, o);
  REQUIRE(g.tokens.size() == o.steps + 1);
  // Teacher-forced against the float model: every chosen token is the float argmax after the
  // prompt and the tokens chosen before it (where the float model's best two are apart).
  std::vector<std::uint32_t> seq = prompt;
  std::size_t checked = 0;
  for (const std::uint32_t got : g.tokens) {
    const std::vector<double> all = model::gpt2_float_forward(m.weights, seq);
    std::vector<double> row(all.end() - dims.vocab, all.end());
    const auto best =
        static_cast<std::uint32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    std::vector<double> sorted = row;
    std::sort(sorted.rbegin(), sorted.rend());
    if (sorted[0] - sorted[1] > 0.01) {
      CHECK(got == best);
      ++checked;
    }
    seq.push_back(got);
  }
  CHECK(checked >= 5);

  // The model owner's transcript does not depend on the prompt's length within the bucket.
  const Generated shorter = generate(m, {prompt[0], prompt[1]}, o);
  CHECK(shorter.run.mo.rounds == g.run.mo.rounds);
  CHECK(shorter.run.mo.bytes_sent == g.run.mo.bytes_sent);
  CHECK(shorter.run.mo.bytes_received == g.run.mo.bytes_received);

  // The client stops early (end-of-text): the model owner stops with it.
  const Generated stopped = generate(m, prompt, o, 3);
  CHECK(stopped.tokens == std::vector<std::uint32_t>(g.tokens.begin(), g.tokens.begin() + 3));

  // A bucket that leaves no room for the steps.
  Gpt2PassOptions too_long = o;
  too_long.steps = 24 - 6 + 1;
  CHECK_THROWS_WITH_AS(
      record_gpt2(m.shape, too_long),
      doctest::Contains("plus the generation steps must be at most n_positions 24"), Error);
}

TEST_CASE("generation never opens the KV cache: no word either party sends is a cache value") {
  const RandomGpt2 dims = small_dims(60);
  const LoadedModel m = random_model(dims, "cache", 19);
  Gpt2PassOptions o;
  o.bucket = 6;
  o.steps = 3;
  const std::vector<std::uint32_t> prompt = random_tokens(4, dims.vocab, 6);
  const mpc::RecordedProgram rec = record_gpt2(m.shape, o, true);
  const mpc::test::FixtureMaskSet masks = mpc::test::make_fixture_mask_set(*rec.mask_plan);
  const mpc::test::TwoPartyRun run = mpc::test::run_two_party(
      rec.plan, masks,
      [&](mpc::Party& p, mpc::MaskSetCursor* cursor) -> std::vector<mpc::Shares> {
        const bool mo = p.is_model_owner();
        Gpt2Session session(m.shape, mo ? &m.fixed : nullptr, {cursor, false, {}});
        Gpt2Cache cache;
        Gpt2Result r =
            run_gpt2(p, session,
                     mo ? std::span<const std::uint32_t>{} : std::span<const std::uint32_t>(prompt),
                     o, &cache);
        session.matrix(p, session.wpe_index());
        for (std::uint32_t step = 0; step < o.steps; ++step) {
          r = run_gpt2_step(p, session, cache, mo ? 0 : r.top.at(0), o);
        }
        std::vector<mpc::Shares> out;
        for (const Gpt2Cache::Layer& l : cache.layers) {
          out.push_back(l.keys.operand(p));
          out.push_back(l.values.operand(p));
        }
        return out;
      },
      16, true);
  std::set<u64> secret;  // every cache value and each party's share of it
  std::size_t values = 0;
  for (std::size_t i = 0; i < run.mo.out.size(); ++i) {
    const std::vector<u64> opened = run.opened(i);
    REQUIRE(opened.size() == std::size_t(o.bucket + o.steps) * dims.d);
    for (std::size_t j = 0; j < opened.size(); ++j) {
      // -1, 0 and 1 also occur as public constants (one-hots, control words).
      const auto v = static_cast<std::int64_t>(opened[j]);
      if (v > 1 || v < -1) secret.insert(opened[j]);
      secret.insert(run.mo.out[i][j]);
      secret.insert(run.client.out[i][j]);
      ++values;
    }
  }
  CHECK(values == 2 * std::size_t(dims.layers) * (o.bucket + o.steps) * dims.d);
  std::size_t hits = 0;
  for (const std::vector<u64>* sent : {&run.mo.sent, &run.client.sent}) {
    REQUIRE(!sent->empty());
    for (u64 w : *sent) hits += secret.count(w);
  }
  CHECK(hits == 0);
}

TEST_CASE("sampling by the client's Gumbel noise: softmax(l / T) frequencies, nothing sent") {
  // The sampler in plaintext: argmax(l + T g) over many draws against softmax(l / T).
  const std::vector<double> l = {1.0, 0.5, -0.3, 0.9};
  const double t = 0.8;
  const Gpt2Session::ChoiceNoise noise = gumbel_noise(t);
  std::vector<int> hits(l.size(), 0);
  const int draws = 40000;
  for (int i = 0; i < draws; ++i) {
    std::vector<u64> x(l.size());
    for (std::size_t j = 0; j < l.size(); ++j) x[j] = FixedPoint(16).encode(l[j]);
    noise(x, 16);
    std::size_t best = 0;
    for (std::size_t j = 1; j < x.size(); ++j) {
      if (static_cast<std::int64_t>(x[j]) > static_cast<std::int64_t>(x[best])) best = j;
    }
    ++hits[best];
  }
  double z = 0;
  for (double v : l) z += std::exp(v / t);
  for (std::size_t j = 0; j < l.size(); ++j) {
    CHECK(std::abs(double(hits[j]) / draws - std::exp(l[j] / t) / z) < 0.01);
  }
  CHECK_THROWS_AS(gumbel_noise(0), Error);
  CHECK_THROWS_AS(gumbel_noise(kMaxTemperature + 1), Error);

  // In a private pass the client's noise decides, and the model owner's transcript is a greedy
  // pass's: here a noise that lifts one token far above the rest.
  const RandomGpt2 dims;
  const LoadedModel m = random_model(dims, "sample", 18);
  Gpt2PassOptions o;
  o.bucket = 8;
  const std::vector<std::uint32_t> tokens = random_tokens(5, dims.vocab, 5);
  const mpc::RecordedProgram rec = record_gpt2(m.shape, o);
  auto pass = [&](std::optional<std::uint32_t> favoured) {
    std::uint32_t got = 0;
    const mpc::test::TwoPartyRun run = mpc::test::run_two_party(
        rec.plan,
        [&](mpc::Party& p) -> std::vector<mpc::Shares> {
          const bool mo = p.is_model_owner();
          Gpt2Session session(m.shape, mo ? &m.fixed : nullptr);
          if (!mo && favoured) {
            session.set_choice_noise(
                [&](std::span<u64> logits, int scale) { logits[*favoured] += u64{100} << scale; });
          }
          const Gpt2Result r = run_gpt2(
              p, session,
              mo ? std::span<const std::uint32_t>{} : std::span<const std::uint32_t>(tokens), o);
          if (!mo) got = r.top.at(0);
          return {};
        },
        16);
    return std::pair{got, run};
  };
  const auto [greedy, greedy_run] = pass(std::nullopt);
  const std::uint32_t other = (greedy + 7) % static_cast<std::uint32_t>(dims.vocab);
  const auto [sampled, sampled_run] = pass(other);
  CHECK(sampled == other);
  CHECK(sampled_run.mo.rounds == greedy_run.mo.rounds);
  CHECK(sampled_run.mo.bytes_sent == greedy_run.mo.bytes_sent);
  CHECK(sampled_run.mo.bytes_received == greedy_run.mo.bytes_received);
}

TEST_CASE("bad pass options and tokens are refused before anything is sent or taken") {
  const RandomGpt2 dims;
  const LoadedModel m = random_model(dims, "bad", 15);
  auto attempt = [&](const Gpt2PassOptions& o, const std::vector<std::uint32_t>& tokens,
                     const std::string& needle) {
    mpc::PlanRecorder recorder;
    mpc::RecordingChannel channel;
    auto kernels = mpc::make_recording_kernels();
    mpc::Party p(mpc::Role::client, channel, recorder, *kernels, 16);
    Gpt2Session session(m.shape, nullptr);
    try {
      run_gpt2(p, session, tokens, o);
      FAIL("accepted: " << needle);
    } catch (const Error& e) {
      CHECK(e.code() == Errc::invalid_argument);
      CHECK_MESSAGE(std::string(e.what()).find(needle) != std::string::npos, e.what());
    }
    CHECK(channel.rounds() == 0);
    CHECK_THROWS(recorder.plan());  // nothing demanded
    CHECK(session.matrices_shared() == 0);
  };
  Gpt2PassOptions o;
  o.bucket = 8;
  attempt(o, {}, "1 to 8 tokens");
  attempt(o, std::vector<std::uint32_t>(9, 1), "1 to 8 tokens");
  attempt(o, {1, 2, 300}, "not below the vocabulary size 300");
  o.bucket = 0;
  attempt(o, {1}, "length bucket must be 1 to 24");
  o.bucket = 25;
  attempt(o, {1}, "length bucket must be 1 to 24");
  o.bucket = 8;
  o.top_k = 0;
  attempt(o, {1}, "top_k must be 1 to 64");
  o.top_k = 65;
  attempt(o, {1}, "top_k must be 1 to 64");
}

TEST_CASE("the committed tiny GPT-2: private top-1 at every position of the reference sequences") {
  // models/gpt2_tiny (scripts/train_gpt2_tiny.py): its reference.json holds, per sequence and
  // position, the top 5 of the float64 forward pass of the stored F16 weights, and the whole
  // vocabulary's logits at the last position (rounded to 1e-4).
  const std::filesystem::path dir = std::filesystem::path(PPI_SOURCE_DIR) / "models/gpt2_tiny";
  const nlohmann::json ref = nlohmann::json::parse(std::ifstream(dir / "reference.json"));
  const LoadedModel m = load(dir, 16);
  const std::size_t v = m.shape.config.vocab_size;
  double worst = 0, worst_cpp_float = 0;
  std::size_t positions = 0;
  for (const nlohmann::json& seq : ref.at("sequences")) {
    const auto tokens = seq.at("token_ids").get<std::vector<std::uint32_t>>();
    Gpt2TwoParty parties(m.shape, m.fixed);
    Gpt2PassOptions o;
    o.bucket = static_cast<std::uint32_t>(tokens.size());
    o.output = Gpt2PassOptions::Output::all;
    o.reveal_logits = true;
    const inference::test::Gpt2PassRun run = parties.pass(tokens, o);
    const std::vector<double> cpp_float = model::gpt2_float_forward(m.weights, tokens);
    for (std::size_t t = 0; t < tokens.size(); ++t, ++positions) {
      const auto top5 = seq.at("top5_ids").at(t).get<std::vector<std::uint32_t>>();
      const auto top5_logits = seq.at("top5_logits").at(t).get<std::vector<double>>();
      CHECK_MESSAGE(run.client.top[t] == top5[0],
                    "sequence of " << tokens.size() << ", position " << t);
      for (std::size_t k = 0; k < 5; ++k) {
        const double priv = decode(run.client.logits[t * v + top5[k]], 16);
        worst = std::max(worst, std::abs(priv - top5_logits[k]));
        worst_cpp_float =
            std::max(worst_cpp_float, std::abs(cpp_float[t * v + top5[k]] - top5_logits[k]));
      }
    }
    // Every logit of the last position, against the reference's rounding to 1e-4.
    const auto last = seq.at("last_logits_rounded_1e-4").get<std::vector<double>>();
    REQUIRE(last.size() == v);
    const std::size_t t = tokens.size() - 1;
    for (std::size_t j = 0; j < v; ++j) {
      worst = std::max(worst, std::abs(decode(run.client.logits[t * v + j], 16) - last[j]) - 5e-5);
    }
  }
  MESSAGE("tiny GPT-2, " << positions
                         << " positions: max |private - float64 reference| logit error " << worst
                         << " (C++ float forward against the reference: " << worst_cpp_float
                         << ")");
  CHECK(positions == 120);
  CHECK(worst_cpp_float < 1e-6);
  CHECK(worst < 0.01);
}
