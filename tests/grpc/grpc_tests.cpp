// GetShares end to end over loopback gRPC: in-process dealers (GrpcServer + ShareDealerService)
// serving deterministic test data through a transport test double, and collect_shares summing
// their streams. Covers mTLS identities, sums for 3 and 10 dealers, resumption after a broken
// stream, refusals and the mapping of errors.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include <grpcpp/create_channel.h>

#include "error_code.hpp"
#include "grpc/grpc_tls.hpp"
#include "grpc/share_collector.hpp"
#include "grpc/share_service.hpp"
#include "grpc/share_wire.hpp"

namespace fs = std::filesystem;
using namespace ppi;
using namespace ppi::grpcsvc;

namespace {

const std::string kBatch = "0f8e6b2c-1d3a-4c5e-9f70-8a9b0c1d2e3f";

// One CA with three dealers (d1..d3, the ids the groups give them: channels are pinned to
// them), the model owner and an unbound actor, and a foreign CA with its own
// "model_owner"; created once per run.
struct Certs {
  fs::path dir;
  Certs() {
    char tmpl[] = "/tmp/ppi-grpc-tests-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    const std::string script = std::string(PPI_SOURCE_DIR) + "/scripts/make-certs.sh";
    REQUIRE(std::system((script + " " + (dir / "ca").string() +
                         " d1:dealer d2:dealer d3:dealer model_owner intruder:client")
                            .c_str()) == 0);
    REQUIRE(std::system((script + " " + (dir / "foreign").string() + " model_owner").c_str()) == 0);
  }
  ~Certs() { fs::remove_all(dir); }
  net::TlsOptions tls(const std::string& name, const std::string& ca = "ca") const {
    return {(dir / ca / (name + ".pem")).string(), (dir / ca / (name + ".key")).string(),
            (dir / "ca" / "ca.pem").string(), true};
  }
};
const Certs& certs() {
  static Certs instance;
  return instance;
}

// Deterministic stand-in for dealer d's masked data: not secret, not the protocol's masking.
u128 test_value(std::uint64_t seed, std::uint64_t word) {
  auto mix = [](std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  return static_cast<u128>(mix(seed * 0x1000193 + word)) << 64 | mix(~seed + 3 * word);
}

// Transport test double for a dealer's ShareSource: serves test_value() pairs from memory,
// admits one identity (or anyone), can fail reads, and records what it was asked.
class TestSource final : public ShareSource {
 public:
  TestSource(std::uint64_t seed, std::uint64_t total) : seed_(seed), total_(total) {}

  std::string allowed;                        // "" admits any caller
  std::uint64_t fail_at = ~std::uint64_t{0};  // a read covering this element fails...
  int failures_left = 0;                      // ...this many times
  std::atomic<int> completed{0};

  std::vector<std::string> callers() {
    std::lock_guard lock(mu_);
    return callers_;
  }
  std::vector<std::uint64_t> resumes() {
    std::lock_guard lock(mu_);
    return resumes_;
  }
  u128 key_share() const { return test_value(seed_, ~std::uint64_t{0}); }
  u128 word(std::uint64_t i) const { return test_value(seed_, i); }

  std::unique_ptr<ShareReader> open(const std::string& batch_id, const std::string& caller,
                                    std::uint64_t resume_from) override {
    {
      std::lock_guard lock(mu_);
      callers_.push_back(caller);
      resumes_.push_back(resume_from);
    }
    if (batch_id != kBatch) throw Error(Errc::not_found, "unknown batch");
    if (!allowed.empty() && caller != allowed)
      throw Error(Errc::permission_denied, "batch is bound to another model owner");
    return std::make_unique<Reader>(*this);
  }

 private:
  class Reader final : public FillingShareReader {
   public:
    explicit Reader(TestSource& source) : source_(source) {}
    std::uint64_t total_elements() const override { return source_.total_; }
    u128 masked_mac_key_share() const override { return source_.key_share(); }
    void fill(std::uint64_t first, std::span<std::uint8_t> out) override {
      const std::uint64_t n = out.size() / 32;
      if (source_.fail_at >= first && source_.fail_at < first + n) {
        std::lock_guard lock(source_.mu_);
        if (source_.failures_left > 0) {
          --source_.failures_left;
          throw Error(Errc::unavailable, "test read failure");
        }
      }
      for (std::uint64_t i = 0; i < 2 * n; ++i)
        store_u128_le(out.data() + 16 * i, source_.word(2 * first + i));
    }
    void complete() override { ++source_.completed; }

   private:
    TestSource& source_;
  };

  const std::uint64_t seed_;
  const std::uint64_t total_;
  std::mutex mu_;
  std::vector<std::string> callers_;
  std::vector<std::uint64_t> resumes_;
};

// An in-process dealer: its test source behind a real gRPC server on a free loopback port.
struct TestDealer {
  TestSource source;
  ShareDealerService service{source};
  GrpcServer server;
  TestDealer(std::uint64_t seed, std::uint64_t total, const std::optional<net::TlsOptions>& tls)
      : source(seed, total), server("127.0.0.1", 0, tls, {&service}) {}
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(server.port()); }
};

struct Group {
  std::vector<std::unique_ptr<TestDealer>> dealers;
  std::vector<DealerEndpoint> endpoints;
  material::BatchLayout layout;
  Group(std::size_t n, std::uint64_t total, bool tls)
      : layout(material::BatchLayout::all_arithmetic(total)) {
    for (std::size_t d = 0; d < n; ++d) {
      std::optional<net::TlsOptions> options;
      if (tls) options = certs().tls("d" + std::to_string(d + 1));
      dealers.push_back(std::make_unique<TestDealer>(100 + d, total, options));
      endpoints.push_back({"d" + std::to_string(d + 1), dealers.back()->endpoint()});
    }
  }
};

// Collects and checks every element against the direct sum of the dealers' data, the order of
// the sink calls and their sizes.
CollectResult collect_and_check(Group& group, const CollectOptions& options, std::uint64_t total) {
  const std::uint32_t chunk =
      options.chunk_elements ? options.chunk_elements : kDefaultChunkElements;
  std::uint64_t next = 0;
  std::uint64_t mismatches = 0;
  auto result = collect_shares(group.endpoints, kBatch, group.layout, options,
                               [&](std::uint64_t first, ByteView pairs) {
                                 CHECK(first == next);
                                 CHECK(pairs.size() % 32 == 0);
                                 CHECK(pairs.size() > 0);
                                 CHECK(pairs.size() <= std::size_t{chunk} * 32);
                                 for (std::size_t i = 0; i < pairs.size() / 16; ++i) {
                                   u128 expected = 0;
                                   for (auto& dealer : group.dealers)
                                     expected += dealer->source.word(2 * first + i);
                                   if (load_u128_le(pairs.data() + 16 * i) != expected)
                                     ++mismatches;
                                 }
                                 next = first + pairs.size() / 32;
                               });
  CHECK(mismatches == 0);
  CHECK(next == total);
  u128 key = 0;
  for (auto& dealer : group.dealers) key += dealer->source.key_share();
  CHECK(result.mac_key_share == key);
  CHECK(result.total_elements == total);
  CHECK(result.bytes_received == group.dealers.size() * 32 * total);
  return result;
}

CollectOptions tls_options(const std::string& name = "model_owner", const std::string& ca = "ca") {
  CollectOptions options;
  options.tls = certs().tls(name, ca);
  options.timeout = std::chrono::seconds(30);
  return options;
}

// The code and message of the ppi::Error that f throws.
std::pair<std::optional<Errc>, std::string> failure(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  return {std::nullopt, ""};
}

void ignore(std::uint64_t, ByteView) {}

}  // namespace

TEST_CASE("3 dealers over mTLS: the caller's CN reaches open() and the sum is exact") {
  Group group(3, 100000, true);
  for (auto& dealer : group.dealers) dealer->source.allowed = "model_owner";
  collect_and_check(group, tls_options(), 100000);
  for (auto& dealer : group.dealers) {
    CHECK(dealer->source.callers() == std::vector<std::string>{"model_owner"});
    CHECK(dealer->source.completed == 1);
  }
}

TEST_CASE("10 dealers, small chunks and a shallow queue") {
  Group group(10, 5000, false);
  CollectOptions options;
  options.chunk_elements = 128;
  options.queue_depth = 1;
  collect_and_check(group, options, 5000);
  for (auto& dealer : group.dealers) CHECK(dealer->source.completed == 1);
}

TEST_CASE("an empty batch still carries the key shares") {
  Group group(2, 0, false);
  collect_and_check(group, {}, 0);
  for (auto& dealer : group.dealers) CHECK(dealer->source.completed == 1);
}

TEST_CASE("a stream that breaks mid-way is resumed from the next element") {
  Group group(3, 4000, true);
  group.dealers[1]->source.fail_at = 1000;  // in the chunk [768, 1024)
  group.dealers[1]->source.failures_left = 1;
  CollectOptions options = tls_options();
  options.chunk_elements = 256;
  collect_and_check(group, options, 4000);
  CHECK(group.dealers[1]->source.resumes() == std::vector<std::uint64_t>{0, 768});
  CHECK(group.dealers[1]->source.completed == 1);
  CHECK(group.dealers[0]->source.resumes() == std::vector<std::uint64_t>{0});
}

TEST_CASE("a stream that keeps breaking fails as unavailable after max_attempts") {
  Group group(2, 4000, false);
  group.dealers[0]->source.fail_at = 3000;
  group.dealers[0]->source.failures_left = 100;
  CollectOptions options;
  options.chunk_elements = 256;
  auto [code, message] =
      failure([&] { collect_shares(group.endpoints, kBatch, group.layout, options, ignore); });
  CHECK(code == Errc::unavailable);
  CHECK(message.find("dealer d1") != std::string::npos);
  CHECK(group.dealers[0]->source.resumes() == std::vector<std::uint64_t>{0, 2816, 2816});
  CHECK(group.dealers[0]->source.completed == 0);
}

TEST_CASE("a refusing dealer gives permission_denied and the other streams stop promptly") {
  // Big enough that the other dealers could not finish in the time allowed below.
  Group group(3, 4000000, true);
  group.dealers[2]->source.allowed = "someone_else";
  CollectOptions options = tls_options();
  options.queue_depth = 1;
  const auto start = std::chrono::steady_clock::now();
  CHECK(test::error_code([&] {
          collect_shares(group.endpoints, kBatch, group.layout, options,
                         [](std::uint64_t, ByteView) {
                           std::this_thread::sleep_for(std::chrono::milliseconds(20));
                         });
        }) == Errc::permission_denied);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  for (auto& dealer : group.dealers) CHECK(dealer->source.completed == 0);
}

TEST_CASE("an unreachable dealer gives unavailable naming it") {
  Group group(1, 100, false);
  group.endpoints.push_back({"d-missing", "127.0.0.1:1"});
  auto [code, message] =
      failure([&] { collect_shares(group.endpoints, kBatch, group.layout, {}, ignore); });
  CHECK(code == Errc::unavailable);
  CHECK(message.find("dealer d-missing (127.0.0.1:1)") != std::string::npos);
}

TEST_CASE("clients without a certificate or with a foreign CA's are refused") {
  Group group(1, 100, true);
  SUBCASE("no certificate") {
    CollectOptions options = tls_options();
    options.tls->cert_file.clear();
    options.tls->key_file.clear();
    auto code = test::error_code(
        [&] { collect_shares(group.endpoints, kBatch, group.layout, options, ignore); });
    CHECK((code == Errc::unavailable || code == Errc::unauthenticated));
  }
  SUBCASE("certificate from another CA") {
    auto code = test::error_code([&] {
      collect_shares(group.endpoints, kBatch, group.layout, tls_options("model_owner", "foreign"),
                     ignore);
    });
    CHECK((code == Errc::unavailable || code == Errc::unauthenticated));
  }
  CHECK(group.dealers[0]->source.callers().empty());  // refused before reaching the source
}

TEST_CASE("an identity the batch is not bound to is refused by the source") {
  Group group(1, 100, true);
  group.dealers[0]->source.allowed = "model_owner";
  CHECK(test::error_code([&] {
          collect_shares(group.endpoints, kBatch, group.layout, tls_options("intruder"), ignore);
        }) == Errc::permission_denied);
  CHECK(group.dealers[0]->source.callers() == std::vector<std::string>{"intruder"});
}

TEST_CASE("malformed requests are invalid_argument, an unknown batch not_found") {
  Group group(1, 100, false);
  auto collect = [&](const std::string& batch_id, std::uint32_t chunk = 0) {
    return test::error_code([&] {
      CollectOptions options;
      options.chunk_elements = chunk;
      collect_shares(group.endpoints, batch_id, group.layout, options, ignore);
    });
  };
  CHECK(collect("not-a-uuid") == Errc::invalid_argument);
  CHECK(collect("0F8E6B2C-1D3A-4C5E-9F70-8A9B0C1D2E3F") == Errc::invalid_argument);
  CHECK(collect(kBatch, kMaxChunkElements + 1) == Errc::invalid_argument);
  CHECK(collect("00000000-0000-0000-0000-000000000000") == Errc::not_found);
  CHECK(group.dealers[0]->source.callers().size() == 1);  // only the well-formed request
}

TEST_CASE("dealers that disagree on the batch size are an internal error") {
  Group group(2, 100, false);
  Group other(1, 101, false);
  group.endpoints[1] = other.endpoints[0];
  CHECK(test::error_code([&] {
          collect_shares(group.endpoints, kBatch, group.layout, {}, ignore);
        }) == Errc::internal);
}

TEST_CASE("errors map to gRPC statuses and back") {
  auto round_trip = [](Errc code) {
    return from_status(to_status(Error(code, "why")), "p").code();
  };
  CHECK(round_trip(Errc::not_found) == Errc::not_found);
  CHECK(round_trip(Errc::permission_denied) == Errc::permission_denied);
  CHECK(round_trip(Errc::unauthenticated) == Errc::unauthenticated);
  CHECK(round_trip(Errc::invalid_argument) == Errc::invalid_argument);
  CHECK(round_trip(Errc::too_large) == Errc::too_large);
  CHECK(round_trip(Errc::unavailable) == Errc::unavailable);
  CHECK(round_trip(Errc::conflict) == Errc::conflict);
  CHECK(round_trip(Errc::gone) == Errc::conflict);
  CHECK(to_status(Error(Errc::gone, "batch expired")).error_message() == "batch expired");
  auto hidden = to_status(Error(Errc::database, "password=secret in DSN"));
  CHECK(hidden.error_code() == grpc::StatusCode::INTERNAL);
  CHECK(hidden.error_message() == "internal error");
  CHECK(
      std::string(from_status(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "late"), "dealer x")
                      .what()) == "dealer x: late");
  CHECK(test::error_code([] {
          channel_credentials(net::TlsOptions{"", "", "/nonexistent", true}, "d1");
        }) == Errc::config);
}

TEST_CASE("the service checks chunk_elements and resume_from_element itself") {
  Group group(1, 100, false);
  auto stub = shares::v1::ShareDealer::NewStub(
      grpc::CreateChannel(group.endpoints[0].grpc_endpoint, grpc::InsecureChannelCredentials()));
  auto call = [&](std::uint32_t chunk, std::uint64_t resume) {
    grpc::ClientContext context;
    shares::v1::GetSharesRequest request;
    request.set_batch_id(kBatch);
    request.set_chunk_elements(chunk);
    request.set_resume_from_element(resume);
    auto stream = stub->GetShares(&context, request);
    shares::v1::ShareChunk chunk_message;
    std::vector<std::uint64_t> firsts;
    while (stream->Read(&chunk_message)) firsts.push_back(chunk_message.first_element());
    return std::pair{stream->Finish().error_code(), firsts};
  };
  CHECK(call(kMaxChunkElements + 1, 0).first == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(call(0, 101).first == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(call(40, 30) == std::pair{grpc::StatusCode::OK, std::vector<std::uint64_t>{30, 70}});
  // Resuming at the end still answers once, with the batch's size and key share.
  CHECK(call(0, 100) == std::pair{grpc::StatusCode::OK, std::vector<std::uint64_t>{100}});
}

TEST_CASE("the dealer's hand-written messages are ShareChunks protobuf parses exactly") {
  // Pieces of several owners and sizes, one empty, an element split across two pieces.
  auto a = std::make_shared<Bytes>(1000), b = std::make_shared<Bytes>(3 * 32 + 16);
  for (std::size_t i = 0; i < a->size(); ++i) (*a)[i] = static_cast<std::uint8_t>(i * 7);
  for (std::size_t i = 0; i < b->size(); ++i) (*b)[i] = static_cast<std::uint8_t>(i * 13 + 1);
  std::weak_ptr<Bytes> a_alive = a;
  WireShareChunk chunk;
  chunk.total_elements = 1ULL << 40;
  chunk.first_element = 300;
  chunk.masked_mac_key_share = (u128{0x0123456789abcdefULL} << 64) | 0xfedcba9876543210ULL;
  chunk.pairs = {{a, ByteView(*a).first(32 * 20 + 16)},
                 {b, ByteView(*b).first(0)},
                 {b, ByteView(*b).subspan(0, 16 + 64)}};
  Bytes expected(a->begin(), a->begin() + 32 * 20 + 16);
  expected.insert(expected.end(), b->begin(), b->begin() + 16 + 64);

  grpc::ByteBuffer encoded;
  encode_share_chunk(chunk, &encoded);
  chunk.pairs.clear();
  a.reset();
  CHECK_FALSE(a_alive.expired());  // the message keeps the bytes it refers to alive
  shares::v1::ShareChunk parsed;
  REQUIRE(grpc::SerializationTraits<shares::v1::ShareChunk>::Deserialize(&encoded, &parsed).ok());
  CHECK(parsed.total_elements() == 1ULL << 40);
  CHECK(parsed.first_element() == 300);
  std::uint8_t key[16];
  store_u128_le(key, *chunk.masked_mac_key_share);
  CHECK(parsed.masked_mac_key_share() == std::string(reinterpret_cast<char*>(key), 16));
  CHECK(parsed.pairs() == std::string(expected.begin(), expected.end()));
  CHECK(a_alive.expired());  // parsing consumed the message: its references are gone

  // Zero fields are left out, as protobuf does; an absent key share stays absent.
  WireShareChunk empty;
  grpc::ByteBuffer encoded_empty;
  encode_share_chunk(empty, &encoded_empty);
  CHECK(encoded_empty.Length() == 0);
}

TEST_CASE("a gRPC server refuses a port another server holds (no SO_REUSEPORT sharing)") {
  TestSource source(1, 10);
  ShareDealerService service{source};
  GrpcServer first("127.0.0.1", 0, std::nullopt, {&service});
  // Before, gRPC's SO_REUSEPORT let the second start silently and split calls with the first.
  try {
    GrpcServer second("127.0.0.1", first.port(), std::nullopt, {&service});
    FAIL("a second server started on the first one's port " << first.port());
  } catch (const Error& e) {
    CHECK(e.code() == Errc::unavailable);
    CHECK(std::string(e.what()) ==
          "cannot listen for gRPC on 127.0.0.1:" + std::to_string(first.port()));
  }
}
