#pragma once
// The model owner's side of ShareDealer.GetShares (PROTOCOL.md section 5): the masked shares of
// one batch from every dealer of its group, summed element-wise in Z_2^128 as they arrive.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "material/layout.hpp"
#include "net/tls.hpp"
#include "ring/z2k.hpp"

namespace ppi::grpcsvc {

struct DealerEndpoint {
  std::string dealer_id;
  std::string grpc_endpoint;  // host:port
};

struct CollectOptions {
  std::optional<net::TlsOptions> tls;  // nullopt: plaintext (tests and benchmarks only)
  // Elements per message; 0: kDefaultChunkElements. The same value is asked of every dealer,
  // so that their chunks line up.
  std::uint32_t chunk_elements = 0;
  int max_attempts = 3;               // per dealer, counting the first stream
  std::chrono::seconds timeout{600};  // for the whole collection, retries included
  std::size_t queue_depth = 4;        // received messages buffered per dealer
};

struct CollectResult {
  u128 mac_key_share;  // sum of the dealers' alpha_i - mac_key_mask_i
  std::uint64_t total_elements;
  std::uint64_t bytes_received;  // pair bytes received from all dealers together
};

// Receives the sums in element order: `summed_pairs` holds 32 bytes per element (two
// little-endian u128) from `first_element` on, and is valid during the call only.
using ShareSink = std::function<void(std::uint64_t first_element, ByteView summed_pairs)>;

// Opens GetShares to every dealer in parallel, one reader thread each, and hands the sums to
// `sink` on the calling thread. Memory stays bounded: a reader blocks once queue_depth
// messages of its dealer wait to be summed, and gRPC's flow control then slows that dealer.
// A stream that breaks (UNAVAILABLE, INTERNAL, ABORTED, UNKNOWN, or ended early) is resumed
// from the first element not yet received, up to max_attempts, and must go on with the same
// batch size and key share. Throws, after cancelling every other stream:
// - Error(unavailable, "dealer <id> (<endpoint>): <reason>") for an unreachable dealer or a
//   stream that kept failing;
// - the dealer's refusal mapped by from_status (permission_denied, not_found, conflict...);
// - Error(internal) naming the dealer when its stream contradicts itself or the others
//   (element counts, chunk boundaries, key share);
// - whatever `sink` throws.
// `layout` is the batch's (from the model's plan): it says how each element combines, and a
// dealer announcing another element count is Error(internal).
CollectResult collect_shares(const std::vector<DealerEndpoint>& dealers,
                             const std::string& batch_id, const material::BatchLayout& layout,
                             const CollectOptions& options, const ShareSink& sink);

}  // namespace ppi::grpcsvc
