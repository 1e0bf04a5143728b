// GetShares throughput on loopback: 3 in-process dealers (GrpcServer + ShareDealerService)
// serve pairs from a buffer in memory, and the model owner collects and sums them
// (collect_shares) into a checksum: plaintext and mTLS, 10^5 to 10^7 elements (or the counts
// given as arguments), with glibc's default malloc settings and then with tuned ones. Prints one
// JSON line per measurement; MB/s counts the masked share data ingested, i.e.
// dealers * 32 bytes * elements per second (MB = 10^6 bytes).
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "app/malloc_tuning.hpp"
#include "grpc/share_collector.hpp"
#include "grpc/share_service.hpp"
#include "obs/log.hpp"

using namespace ppi;
using namespace ppi::grpcsvc;

namespace {

// Serves `total` elements from a fixed buffer, wrapping around: the cost measured is the
// transport's, not the dealer's store or masking.
class MemorySource final : public ShareSource {
 public:
  MemorySource(const Bytes& data, std::uint64_t total) : data_(data), total_(total) {}
  std::unique_ptr<ShareReader> open(const std::string&, const std::string&,
                                    std::uint64_t) override {
    return std::make_unique<Reader>(data_, total_);
  }

 private:
  class Reader final : public FillingShareReader {
   public:
    Reader(const Bytes& data, std::uint64_t total) : data_(data), total_(total) {}
    std::uint64_t total_elements() const override { return total_; }
    u128 masked_mac_key_share() const override { return 42; }
    void fill(std::uint64_t first, std::span<std::uint8_t> out) override {
      std::size_t offset = (first * kPairBytes) % data_.size();
      for (std::size_t done = 0; done < out.size();) {
        std::size_t n = std::min(out.size() - done, data_.size() - offset);
        std::memcpy(out.data() + done, data_.data() + offset, n);
        done += n;
        offset = 0;
      }
    }
    void complete() override {}

   private:
    const Bytes& data_;
    const std::uint64_t total_;
  };
  const Bytes& data_;
  const std::uint64_t total_;
};

}  // namespace

int main(int argc, char** argv) {
  // Sizes to run: the arguments, else 10^5, 10^6 and 10^7 elements.
  std::vector<std::uint64_t> sizes{100000, 1000000, 10000000};
  if (argc > 1) sizes.clear();
  for (int i = 1; i < argc; ++i) sizes.push_back(std::strtoull(argv[i], nullptr, 10));
  log::set_min_level(log::Level::warn);
  constexpr int kDealers = 3;
  Bytes data(std::size_t{64} << 20);  // 64 MiB, a multiple of 32
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 131 + 7);

  char tmpl[] = "/tmp/ppi-grpc-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::filesystem::path certs = tmpl;
  const std::string script = std::string(PPI_SOURCE_DIR) + "/scripts/make-certs.sh";
  if (std::system((script + " " + certs.string() + " dealer model_owner").c_str()) != 0) return 1;
  auto tls_for = [&](const std::string& name) {
    return net::TlsOptions{(certs / (name + ".pem")).string(), (certs / (name + ".key")).string(),
                           (certs / "ca.pem").string(), true};
  };

  for (bool tuned : {false, true}) {
    if (tuned) {
      // glibc trims and regrows its heaps around gRPC's ~1 MiB read and serialization buffers,
      // and the page faults of the regrowth cost more than the copies (perf: a quarter of the
      // time in page-fault handling under recvmsg). Keeping the freed memory, as an actor's
      // main() can, doubles the throughput here; these runs show the difference.
      app::tune_malloc_for_streaming();
    }
    for (bool tls : {false, true}) {
      for (std::uint64_t elements : sizes) {
        std::vector<std::unique_ptr<MemorySource>> sources;
        std::vector<std::unique_ptr<ShareDealerService>> services;
        std::vector<std::unique_ptr<GrpcServer>> servers;
        std::vector<DealerEndpoint> endpoints;
        std::optional<net::TlsOptions> server_tls;
        if (tls) server_tls = tls_for("dealer");
        for (int d = 0; d < kDealers; ++d) {
          sources.push_back(std::make_unique<MemorySource>(data, elements));
          services.push_back(std::make_unique<ShareDealerService>(*sources.back()));
          servers.push_back(std::make_unique<GrpcServer>(
              "127.0.0.1", 0, server_tls, std::vector<grpc::Service*>{services.back().get()}));
          endpoints.push_back(
              {"d" + std::to_string(d + 1), "127.0.0.1:" + std::to_string(servers.back()->port())});
        }
        CollectOptions options;
        if (tls) options.tls = tls_for("model_owner");
        std::uint64_t checksum = 0;  // consumes the sums, so they cannot be optimized away
        const auto t0 = std::chrono::steady_clock::now();
        CollectResult result = collect_shares(
            endpoints, "0f8e6b2c-1d3a-4c5e-9f70-8a9b0c1d2e3f",
            material::BatchLayout::all_arithmetic(elements), options,
            [&](std::uint64_t, ByteView pairs) { checksum += load_u64_le(pairs.data()); });
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double bytes = static_cast<double>(result.bytes_received);
        std::printf(
            "{\"bench\":\"grpc_collect\",\"malloc\":\"%s\",\"tls\":%s,\"dealers\":%d,\"elements\":%"
            "llu,"
            "\"bytes\":%.0f,\"seconds\":%.4f,\"elements_per_s\":%.4g,\"mb_per_s\":%.1f,"
            "\"checksum\":%llu}\n",
            tuned ? "tuned" : "default", tls ? "true" : "false", kDealers,
            static_cast<unsigned long long>(elements), bytes, seconds,
            static_cast<double>(elements) / seconds, bytes / seconds / 1e6,
            static_cast<unsigned long long>(checksum));
        std::fflush(stdout);
      }
    }
  }
  std::filesystem::remove_all(certs);
}
