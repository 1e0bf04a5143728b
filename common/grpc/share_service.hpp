#pragma once
// The dealer's side of ShareDealer.GetShares (common/proto/shares.proto, PROTOCOL.md section
// 5), transport only: what to serve and to whom is decided by a ShareSource, which the dealer
// implements over its store.

#include <grpcpp/server.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "net/tls.hpp"
#include "proto/shares.grpc.pb.h"
#include "ring/z2k.hpp"

namespace ppi::grpcsvc {

inline constexpr std::size_t kPairBytes = 32;                  // two little-endian u128
inline constexpr std::uint32_t kDefaultChunkElements = 32768;  // 1 MiB of pairs per message
inline constexpr std::uint32_t kMaxChunkElements = 131072;     // 4 MiB of pairs per message
// The largest message either side accepts: a maximal chunk plus room for the other fields.
inline constexpr int kMaxMessageBytes = kMaxChunkElements * kPairBytes + 64 * 1024;

struct WireShareChunk;  // grpc/share_wire.hpp

// Masked pairs in memory that `owner` keeps alive until gRPC has sent them, so a message
// refers to them instead of copying them.
struct PairsPiece {
  std::shared_ptr<const void> owner;
  ByteView bytes;
};

// One release of one batch to one caller.
class ShareReader {
 public:
  virtual ~ShareReader() = default;
  virtual std::uint64_t total_elements() const = 0;
  virtual u128 masked_mac_key_share() const = 0;
  // Appends the masked pairs of elements [first_element, first_element + count) to `out`, in
  // order, as one or more pieces; elements are read in increasing order, possibly from a
  // resume point.
  virtual void read(std::uint64_t first_element, std::uint64_t count,
                    std::vector<PairsPiece>& out) = 0;
  // Called after each successful Write: elements [resume point, next_element) are written.
  virtual void sent(std::uint64_t next_element) { (void)next_element; }
  // Called once the Write that carried the last element succeeded: records the delivery, or
  // throws (ppi::Error) when this stream may not count as it (docs/protocol.md, "Share
  // delivery"). A reader destroyed without complete() ended early.
  virtual void complete() = 0;
};

// Thrown by ShareSource::open while another stream of the same batch is running: the stream
// is refused ABORTED (which the model owner's collector retries after a back-off), not
// FAILED_PRECONDITION, because the other stream may be a broken one that is about to end.
class ShareStreamBusy : public Error {
 public:
  explicit ShareStreamBusy(const std::string& message) : Error(Errc::conflict, message) {}
};

// A reader that writes each message's pairs into a buffer of its own (sources that compute
// their pairs rather than hold them).
class FillingShareReader : public ShareReader {
 public:
  void read(std::uint64_t first_element, std::uint64_t count, std::vector<PairsPiece>& out) final;

 protected:
  // Fills `out` (count * 32 bytes) with the masked pairs starting at first_element.
  virtual void fill(std::uint64_t first_element, std::span<std::uint8_t> out) = 0;
};

class ShareSource {
 public:
  virtual ~ShareSource() = default;
  // Authorizes (caller identity = mTLS CN, "" without a certificate) and opens; throws
  // ppi::Error (not_found, permission_denied, conflict, gone...). Called from gRPC's threads,
  // possibly for several streams at once.
  virtual std::unique_ptr<ShareReader> open(const std::string& batch_id,
                                            const std::string& caller_identity,
                                            std::uint64_t resume_from_element) = 0;
};

// GetShares over a ShareSource. Checks the request (batch_id a lower-case UUID, chunk_elements
// at most kMaxChunkElements, 0 meaning kDefaultChunkElements, resume_from_element at most the
// batch's size), then writes the chunks one by one: each Write waits for gRPC's flow control,
// so a slow model owner slows the reads down instead of filling memory. Stops when the client
// cancels; calls ShareReader::sent() after each chunk and ShareReader::complete() only after the
// chunk with the last element was written (a resume at the end writes one chunk with no
// elements, carrying the batch's size and key share). ShareStreamBusy is ABORTED. Logs one line
// per stream, never share contents.
// Registered by hand rather than through the generated Service, so that its messages are
// written as WireShareChunk (grpc/share_wire.hpp): same method, same bytes on the wire.
class ShareDealerService final : public grpc::Service {
 public:
  explicit ShareDealerService(ShareSource& source);

 private:
  grpc::Status GetShares(grpc::ServerContext* context, const shares::v1::GetSharesRequest* request,
                         grpc::ServerWriter<WireShareChunk>* writer);

  ShareSource& source_;
};

// Initializes gRPC once for the rest of the process (GrpcServer and collect_shares call it).
// Otherwise destroying the last server or channel shuts the library down, and gRPC 1.51's
// shutdown joins an executor thread that can be in a 10 s poll: seen as 10 s stalls between
// tests and benchmark runs, and it would delay an actor's exit the same way.
void keep_grpc_initialized();

// A started gRPC server (gRPC's own threads) for the given services, which must outlive it.
class GrpcServer {
 public:
  // address: an IP address or host name to listen on; port 0 picks a free port. tls nullopt:
  // plaintext. Messages up to max_message_bytes both ways (the share transport's chunks by
  // default; the online service's are larger). A port another socket holds is
  // Error(unavailable), never shared: gRPC's SO_REUSEPORT would let a second process start on a
  // busy port and split the calls between the two. Error(config) on bad TLS files.
  GrpcServer(std::string address, std::uint16_t port, const std::optional<net::TlsOptions>& tls,
             std::vector<grpc::Service*> services, int max_message_bytes = kMaxMessageBytes);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  std::uint16_t port() const { return port_; }
  // Stops accepting calls, cancels the ones still running after a short grace period and
  // waits for them. Idempotent.
  void shutdown();

 private:
  std::unique_ptr<grpc::Server> server_;
  std::uint16_t port_ = 0;
};

}  // namespace ppi::grpcsvc
