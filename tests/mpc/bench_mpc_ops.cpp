// Throughput of the online operations between two threads over the local channel, on TEST
// FIXTURE batches: one JSON line per operation with its size, rounds, bytes sent per party and
// the model owner's wall time (material generation excluded). Not a test: it asserts nothing.
//
//   bench_mpc_ops [scale]   (scale multiplies the element counts; default 1)

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mpc/beaver.hpp"
#include "mpc/compare.hpp"
#include "mpc/linear.hpp"
#include "mpc/plan_recorder.hpp"
#include "mpc/truncate.hpp"
#include "two_party.hpp"

using namespace ppi;
using namespace ppi::mpc;
using namespace ppi::mpc::test;

namespace {

// `op` runs between the two timestamps; whatever it returns is discarded.
void measure(const std::string& name, const std::string& size,
             const std::function<void(Party&)>& op) {
  double seconds = 0;
  const Program program = [&](Party& p) -> std::vector<Shares> {
    // An empty exchange first, so the clock starts when both parties are ready.
    p.channel().exchange(std::span<const u64>());
    const auto start = std::chrono::steady_clock::now();
    op(p);
    const std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
    if (p.is_model_owner()) seconds = d.count();
    return {};
  };
  const RecordedProgram rec = record_program(Role::model_owner, [&](Party& p) { program(p); });
  const TwoPartyRun run = run_two_party(rec.plan, program);
  std::printf(
      "{\"bench\":\"mpc_ops\",\"op\":\"%s\",\"size\":\"%s\",\"rounds\":%llu,"
      "\"mo_bytes_sent\":%llu,\"client_bytes_sent\":%llu,\"seconds\":%.6f}\n",
      name.c_str(), size.c_str(), static_cast<unsigned long long>(run.mo.rounds - 1),
      static_cast<unsigned long long>(run.mo.bytes_sent),
      static_cast<unsigned long long>(run.client.bytes_sent), seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t scale = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1;
  const std::size_t n = 16384 * scale;
  const std::vector<u64> x = random_signed(n, 40), y = random_signed(n, 40);
  const Split sx = split(x), sy = split(y);
  const std::string ns = std::to_string(n);

  measure("mul", ns, [&](Party& p) { mul(p, mine(p, sx), mine(p, sy)); });
  measure("truncate", ns, [&](Party& p) { truncate(p, mine(p, sx)); });
  measure("msb", ns, [&](Party& p) { msb(p, mine(p, sx)); });
  measure("relu", ns, [&](Party& p) { relu(p, mine(p, sx)); });

  const std::uint32_t d = 128;
  const std::vector<u64> a = random_words(d * d), b = random_words(d * d);
  const Split sa = split(a), sb = split(b);
  measure("matmul", "128x128x128", [&](Party& p) { matmul(p, mine(p, sa), mine(p, sb), d, d, d); });

  const std::uint32_t m = 64, k = 784, h = 128;
  const std::vector<u64> w = random_words(k * h), in = random_words(m * k);
  const Split si = split(in);
  measure("linear_private_weights", "64x784x128 (F sent once, one call)", [&](Party& p) {
    const PrivateWeights pw = share_private_weights(
        p, p.is_model_owner() ? std::span<const u64>(w) : std::span<const u64>(), k, h);
    linear(p, pw, mine(p, si), m);
  });

  const std::vector<u64> logits = random_signed(64 * 10, 40);
  const Split sl = split(logits);
  measure("argmax_rows", "64x10", [&](Party& p) { argmax_rows(p, mine(p, sl), 64, 10); });
  return 0;
}
