// The private GPT-2 pass over the real transport: the model owner and the client as two
// processes on this machine, the 2PC messages on the online service's gRPC stream
// (proto/online.proto, online/stream_channel.hpp) with mTLS on loopback, as users see it. Both
// processes take their material from the tests' TEST FIXTURE dealer run from one shared seed,
// each keeping its own halves (a benchmark, never an actor), made before each timed pass. One
// session (one set of shared weights) serves every pass; each pass is one Run stream.
//
// One JSON line per pass, from the client:
//   {"bench": "gpt2_online_grpc", "first_pass": ..., "tokens": T, "layers": L, "seconds": ...,
//    "rounds", "bytes_mo_to_client", "bytes_client_to_mo", "us_per_round_transport", "tls"}
// us_per_round_transport is the mean time of an empty exchange over the same stream (one round
// trip of the transport with nothing to compute), measured before each pass.
//
// With --steps N each pass is a greedy generation (the pass, then N steps on the secret-shared
// KV cache, inference::run_gpt2_generation), and the line adds "steps",
// "seconds_first_token" (the pass), "seconds_per_step", "rounds_per_step" and
// "bytes_per_step_mo_to_client" / "_client_to_mo" (means over the steps), and
// "material_elements_per_step" (from the recorded plans: (pass + N steps - pass) / N).
//
//   bench_online_gpt2 [--layers 12] [--d 768] [--heads 12] [--vocab 50257] [--positions 1024]
//                     [--tokens 32,64,128] [--reps 1] [--steps 0] [--plaintext]

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "app/malloc_tuning.hpp"
#include "bench_util.hpp"
#include "compute/ring_kernels.hpp"
#include "crypto/csprng.hpp"
#include "grpc/grpc_tls.hpp"
#include "inference/gpt2_program.hpp"
#include "model/gpt2.hpp"
#include "online/stream_channel.hpp"
#include "private_gpt2.hpp"
#include "proto/online.grpc.pb.h"
#include "random_gpt2.hpp"

using namespace ppi;
using ppi::online::v1::OnlineMessage;

namespace {

struct Options {
  inference::test::RandomGpt2 model{12, 12, 768, 50257, 1024, model::DType::F16};
  std::vector<std::uint32_t> lengths{32, 64, 128};
  int reps = 1;
  std::uint32_t steps = 0;
  bool tls = true;
  std::string role;  // "" (the parent, client), "model_owner"
  std::string dir;   // certificates, the model, the port file
  std::string seed;  // hex of the fixture seed
  std::string argv0;
};

std::string list_text(const std::vector<std::uint32_t>& v) {
  std::string s;
  for (std::uint32_t x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

std::string hex(const Seed128& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : s.bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

Seed128 unhex(const std::string& h) {
  Seed128 s;
  for (std::size_t i = 0; i < s.bytes.size(); ++i) {
    s.bytes[i] = static_cast<std::uint8_t>(std::stoul(h.substr(2 * i, 2), nullptr, 16));
  }
  return s;
}

std::optional<net::TlsOptions> tls_for(const Options& o, const std::string& name) {
  if (!o.tls) return std::nullopt;
  const std::filesystem::path certs = std::filesystem::path(o.dir) / "certs";
  return net::TlsOptions{(certs / (name + ".pem")).string(), (certs / (name + ".key")).string(),
                         (certs / "ca.pem").string(), true};
}

// The pass options of pass number i: the lengths in order, each reps times, the first once
// more (a session's first pass shares the weights).
std::vector<std::uint32_t> schedule(const Options& o) {
  std::vector<std::uint32_t> passes;
  for (std::size_t i = 0; i < o.lengths.size(); ++i) {
    for (int r = 0; r < o.reps + (i == 0 ? 1 : 0); ++r) passes.push_back(o.lengths[i]);
  }
  return passes;
}

std::uint32_t g_steps = 0;  // --steps, the same in both processes

inference::Gpt2PassOptions pass_options(std::uint32_t t) {
  inference::Gpt2PassOptions p;
  p.bucket = t;
  p.steps = g_steps;
  return p;
}

// The pass (and its steps) of one Run, either role; the client's `next` sees each result.
void run_pass(mpc::Party& p, inference::Gpt2Session& session, std::span<const std::uint32_t> tokens,
              std::uint32_t t, const inference::Gpt2Next& next) {
  inference::run_gpt2_generation(p, session, tokens, pass_options(t), next);
}

// Empty exchanges over the stream: the transport's round trip with nothing to compute.
double round_trip_us(mpc::Channel& channel, int count) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) channel.exchange(std::span<const u64>());
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
             .count() /
         count;
}

constexpr int kProbeRounds = 200;

class BenchOnlineService final : public ppi::online::v1::OnlineInference::Service {
 public:
  BenchOnlineService(const Options& o, const model::Gpt2Shape& shape,
                     const model::Gpt2FixedWeights& weights)
      : shape_(shape),
        dealer_(unhex(o.seed), mpc::Role::model_owner),
        session_(shape, &weights),
        shadow_(shape, nullptr),
        passes_(schedule(o)) {}

  grpc::Status Run(grpc::ServerContext*,
                   grpc::ServerReaderWriter<OnlineMessage, OnlineMessage>* stream) override {
    try {
      OnlineMessage first;
      if (!stream->Read(&first) || !first.has_start()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no Start");
      }
      if (next_ >= passes_.size()) return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "done");
      const std::uint32_t t = passes_[next_++];
      inference::test::prefetch_pass(dealer_, shadow_, t, pass_options(t));
      online::StreamChannel channel([stream](OnlineMessage& m) { return stream->Read(&m); },
                                    [stream](const OnlineMessage& m) { return stream->Write(m); },
                                    "client");
      auto kernels = compute::make_cpu_kernels();
      mpc::Party p(mpc::Role::model_owner, channel, dealer_.source(mpc::Role::model_owner),
                   *kernels, shape_.frac_bits, mpc::kMaxMagnitudeBits);
      // Ready: the client starts its clock after this exchange.
      channel.exchange(std::span<const u64>());
      round_trip_us(channel, kProbeRounds);
      run_pass(p, session_, {}, t, {});
      if (next_ == passes_.size()) done_ = true;
      return grpc::Status::OK;
    } catch (const Error& e) {
      std::fprintf(stderr, "model owner: %s\n", e.what());
      return grpcsvc::to_status(e);
    }
  }
  bool done() const { return done_; }

 private:
  model::Gpt2Shape shape_;
  inference::test::FixtureDealer dealer_;
  inference::Gpt2Session session_, shadow_;
  std::vector<std::uint32_t> passes_;
  std::size_t next_ = 0;
  std::atomic<bool> done_{false};
};

model::Gpt2FixedWeights load_model(const Options& o) {
  return model::encode_gpt2(
      model::fold_gpt2(model::load_gpt2(std::filesystem::path(o.dir) / "model")), 16);
}

int run_model_owner(const Options& o) {
  const model::Gpt2FixedWeights weights = load_model(o);
  const model::Gpt2Shape shape = model::Gpt2Shape::of(weights);
  BenchOnlineService service(o, shape, weights);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpcsvc::server_credentials(tls_for(o, "model_owner")),
                           &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(8 * online::kMaxWords + 1024));
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "model owner: the gRPC server did not start\n");
    return 1;
  }
  {
    std::ofstream(std::filesystem::path(o.dir) / "port.tmp") << port << "\n";
    std::filesystem::rename(std::filesystem::path(o.dir) / "port.tmp",
                            std::filesystem::path(o.dir) / "port");
  }
  while (!service.done()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  server->Shutdown();
  return 0;
}

int run_client(const Options& o, int port) {
  // The client knows the model's public shape only.
  model::Gpt2Shape shape;
  shape.config = model::read_gpt2_config(std::filesystem::path(o.dir) / "model" / "config.json");
  shape.frac_bits = 16;
  inference::test::FixtureDealer dealer(unhex(o.seed), mpc::Role::client);
  inference::Gpt2Session session(shape, nullptr), shadow(shape, nullptr);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(8 * online::kMaxWords + 1024));
  const std::string endpoint = "localhost:" + std::to_string(port);
  auto stub = ppi::online::v1::OnlineInference::NewStub(grpc::CreateCustomChannel(
      endpoint, grpcsvc::channel_credentials(tls_for(o, "client"), "model_owner"), args));
  bool first = true;
  for (std::uint32_t t : schedule(o)) {
    inference::test::prefetch_pass(dealer, shadow, t, pass_options(t));
    grpc::ClientContext context;
    auto stream = stub->Run(&context);
    OnlineMessage start;
    start.mutable_start()->set_batch_id("bench");
    if (!stream->Write(start)) throw Error(Errc::unavailable, "the model owner refused the stream");
    online::StreamChannel channel([&](OnlineMessage& m) { return stream->Read(&m); },
                                  [&](const OnlineMessage& m) { return stream->Write(m); },
                                  "model owner");
    auto kernels = compute::make_cpu_kernels();
    mpc::Party p(mpc::Role::client, channel, dealer.source(mpc::Role::client), *kernels,
                 shape.frac_bits, mpc::kMaxMagnitudeBits);
    channel.exchange(std::span<const u64>());
    const double rtt = round_trip_us(channel, kProbeRounds);
    const std::uint64_t r0 = channel.rounds(), s0 = channel.bytes_sent(),
                        v0 = channel.bytes_received();
    const std::vector<std::uint32_t> tokens(t, 464);
    const auto started = std::chrono::steady_clock::now();
    // A generation: when each token arrives, with the stream's figures then.
    struct Mark {
      double seconds;
      std::uint64_t rounds, sent, received;
      std::uint32_t token;
    };
    std::vector<Mark> marks;
    inference::Gpt2Result result;
    run_pass(
        p, session, tokens, t, [&](const inference::Gpt2Result& r) -> std::optional<std::uint32_t> {
          marks.push_back(
              {std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
               channel.rounds(), channel.bytes_sent(), channel.bytes_received(), r.top.at(0)});
          return r.top.at(0);
        });
    if (!marks.empty()) result.top = {marks.back().token};
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::string generation;
    if (marks.size() > 1) {
      const double n = static_cast<double>(marks.size() - 1);
      const Mark &a = marks.front(), &b = marks.back();
      const std::uint64_t with_steps =
          inference::record_gpt2(shape, pass_options(t), true).plan.element_count();
      inference::Gpt2PassOptions pass_only = pass_options(t);
      pass_only.steps = 0;
      const std::uint64_t pass =
          inference::record_gpt2(shape, pass_only, true).plan.element_count();
      char buffer[512];
      std::snprintf(buffer, sizeof buffer,
                    ", \"steps\": %u, \"seconds_first_token\": %.4f, \"seconds_per_step\": %.4f, "
                    "\"rounds_per_step\": %.1f, \"bytes_per_step_mo_to_client\": %.0f, "
                    "\"bytes_per_step_client_to_mo\": %.0f, \"material_elements_per_step\": %.0f",
                    g_steps, a.seconds - 0.0, (b.seconds - a.seconds) / n,
                    static_cast<double>(b.rounds - a.rounds) / n,
                    static_cast<double>(b.received - a.received) / n,
                    static_cast<double>(b.sent - a.sent) / n,
                    static_cast<double>(with_steps - pass) / static_cast<double>(g_steps));
      generation = buffer;
    }
    stream->WritesDone();
    const grpc::Status status = stream->Finish();
    if (!status.ok()) throw grpcsvc::from_status(status, "model owner");
    std::printf(
        "{\"bench\": \"gpt2_online_grpc\", \"first_pass\": %s, \"tokens\": %u, \"layers\": %d, "
        "\"d\": %d, \"heads\": %d, \"vocab\": %d, \"seconds\": %.4f, \"rounds\": %llu, "
        "\"bytes_mo_to_client\": %llu, \"bytes_client_to_mo\": %llu, "
        "\"us_per_round_transport\": %.1f, \"tls\": %s, \"next_token\": %u%s}\n",
        first ? "true" : "false", t, o.model.layers, o.model.d, o.model.heads, o.model.vocab,
        seconds, static_cast<unsigned long long>(channel.rounds() - r0),
        static_cast<unsigned long long>(channel.bytes_received() - v0),
        static_cast<unsigned long long>(channel.bytes_sent() - s0), rtt, o.tls ? "true" : "false",
        result.top.empty() ? 0u : result.top[0], generation.c_str());
    std::fflush(stdout);
    first = false;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  app::tune_malloc_for_online();
  Options o;
  o.argv0 = argv[0];
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    if (key == "--plaintext") {
      o.tls = false;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", key.c_str());
      return 2;
    }
    const std::string value = argv[++i];
    if (key == "--layers")
      o.model.layers = std::stoi(value);
    else if (key == "--d")
      o.model.d = std::stoi(value);
    else if (key == "--heads")
      o.model.heads = std::stoi(value);
    else if (key == "--vocab")
      o.model.vocab = std::stoi(value);
    else if (key == "--positions")
      o.model.positions = std::stoi(value);
    else if (key == "--tokens")
      o.lengths = bench::parse_u32_list(value);
    else if (key == "--reps")
      o.reps = std::stoi(value);
    else if (key == "--steps")
      o.steps = static_cast<std::uint32_t>(std::stoul(value));
    else if (key == "--role")
      o.role = value;
    else if (key == "--dir")
      o.dir = value;
    else if (key == "--seed")
      o.seed = value;
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  g_steps = o.steps;
  try {
    if (o.role == "model_owner") return run_model_owner(o);

    // The parent: certificates, the model, the model owner process, then the client's passes.
    char tmpl[] = "/tmp/ppi-bench-online-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 1;
    o.dir = tmpl;
    const std::filesystem::path dir = o.dir;
    const std::string certs_cmd = std::string(PPI_SOURCE_DIR) + "/scripts/make-certs.sh " +
                                  (dir / "certs").string() + " model_owner client";
    if (o.tls && std::system(certs_cmd.c_str()) != 0) return 1;
    inference::test::write_random_gpt2(dir / "model", o.model, 1);
    o.seed = hex(random_seed());
    const pid_t child = fork();
    if (child == 0) {
      const std::string layers = std::to_string(o.model.layers), d = std::to_string(o.model.d),
                        heads = std::to_string(o.model.heads),
                        vocab = std::to_string(o.model.vocab),
                        positions = std::to_string(o.model.positions),
                        reps = std::to_string(o.reps), lengths = list_text(o.lengths),
                        steps = std::to_string(o.steps);
      std::vector<const char*> args{
          o.argv0.c_str(), "--role",   "model_owner",   "--dir",       o.dir.c_str(),     "--seed",
          o.seed.c_str(),  "--layers", layers.c_str(),  "--d",         d.c_str(),         "--heads",
          heads.c_str(),   "--vocab",  vocab.c_str(),   "--positions", positions.c_str(), "--reps",
          reps.c_str(),    "--tokens", lengths.c_str(), "--steps",     steps.c_str()};
      if (!o.tls) args.push_back("--plaintext");
      args.push_back(nullptr);
      execv("/proc/self/exe", const_cast<char* const*>(args.data()));
      _exit(127);
    }
    int port = 0;
    for (int i = 0; i < 6000 && port == 0; ++i) {
      std::ifstream in(dir / "port");
      if (!(in >> port)) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    int rc = 1;
    try {
      if (port != 0) rc = run_client(o, port);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "client: %s\n", e.what());
    }
    if (rc != 0) kill(child, SIGTERM);
    int status = 0;
    waitpid(child, &status, 0);
    std::filesystem::remove_all(dir);
    return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_online_gpt2: %s\n", e.what());
    return 1;
  }
}
