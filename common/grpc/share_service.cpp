#include "grpc/share_service.hpp"

#include <grpc/grpc.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/method_handler.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/ids.hpp"
#include "core/test_fault.hpp"
#include "grpc/grpc_tls.hpp"
#include "grpc/server_limits.hpp"
#include "grpc/share_wire.hpp"
#include "obs/log.hpp"

namespace ppi::grpcsvc {
namespace {

using Clock = std::chrono::steady_clock;

// Streams one release; returns the status of the stream (errors are thrown as ppi::Error).
grpc::Status stream_shares(ShareSource& source, const std::string& caller,
                           grpc::ServerContext& context,
                           const shares::v1::GetSharesRequest& request,
                           grpc::ServerWriter<WireShareChunk>& writer,
                           std::uint64_t& elements_sent) {
  check_batch_id(request.batch_id());
  std::uint32_t chunk_elements =
      request.chunk_elements() == 0 ? kDefaultChunkElements : request.chunk_elements();
  if (chunk_elements > kMaxChunkElements)
    throw Error(Errc::invalid_argument,
                "chunk_elements must be at most " + std::to_string(kMaxChunkElements));

  auto reader = source.open(request.batch_id(), caller, request.resume_from_element());
  if (!reader) throw Error(Errc::internal, "share source opened no reader");
  const std::uint64_t total = reader->total_elements();
  std::uint64_t next = request.resume_from_element();
  if (next > total)
    throw Error(Errc::invalid_argument, "resume_from_element " + std::to_string(next) +
                                            " is past the batch's " + std::to_string(total) +
                                            " elements");

  WireShareChunk chunk;
  chunk.total_elements = total;
  chunk.masked_mac_key_share = reader->masked_mac_key_share();
  // At least one message, so that an empty batch or a resume at the end still carries the
  // batch's size and key share.
  do {
    if (context.IsCancelled()) return {grpc::StatusCode::CANCELLED, "cancelled by the client"};
    const std::uint64_t n = std::min<std::uint64_t>(chunk_elements, total - next);
    chunk.first_element = next;
    chunk.pairs.clear();  // gRPC keeps its own references to what it has not sent yet
    if (n > 0) reader->read(next, n, chunk.pairs);
    if (!writer.Write(chunk)) return {grpc::StatusCode::CANCELLED, "the client went away"};
    chunk.masked_mac_key_share.reset();  // only in the first message of a stream
    next += n;
    elements_sent += n;
    if (next < total) {
      reader->sent(next);
      test_fault_point("mid_share_stream");  // part of the share sent and recorded
    }
  } while (next < total);
  reader->complete();
  return grpc::Status::OK;
}

// Appends `value` as a protobuf varint.
void put_varint(std::vector<std::uint8_t>& out, std::uint64_t value) {
  for (; value >= 0x80; value >>= 7) out.push_back(static_cast<std::uint8_t>(value | 0x80));
  out.push_back(static_cast<std::uint8_t>(value));
}

void unref_owner(void* owner) {
  delete static_cast<std::shared_ptr<const void>*>(owner);
}

}  // namespace

void encode_share_chunk(const WireShareChunk& chunk, grpc::ByteBuffer* out) {
  // Field numbers and wire types of shares.proto's ShareChunk; zero scalars are left out, as
  // protobuf itself does.
  constexpr std::uint8_t kTotalElements = 1 << 3 | 0, kFirstElement = 2 << 3 | 0,
                         kMaskedMacKeyShare = 3 << 3 | 2, kPairs = 4 << 3 | 2;
  std::vector<std::uint8_t> header;
  header.reserve(64);
  if (chunk.total_elements != 0) {
    header.push_back(kTotalElements);
    put_varint(header, chunk.total_elements);
  }
  if (chunk.first_element != 0) {
    header.push_back(kFirstElement);
    put_varint(header, chunk.first_element);
  }
  if (chunk.masked_mac_key_share) {
    header.push_back(kMaskedMacKeyShare);
    put_varint(header, kU128Bytes);
    header.resize(header.size() + kU128Bytes);
    store_u128_le(header.data() + header.size() - kU128Bytes, *chunk.masked_mac_key_share);
  }
  std::uint64_t pairs_bytes = 0;
  for (const PairsPiece& piece : chunk.pairs) pairs_bytes += piece.bytes.size();
  if (pairs_bytes != 0) {
    header.push_back(kPairs);
    put_varint(header, pairs_bytes);
  }
  std::vector<grpc::Slice> slices;
  slices.reserve(1 + chunk.pairs.size());
  slices.emplace_back(header.data(), header.size());  // copied
  for (const PairsPiece& piece : chunk.pairs) {
    if (piece.bytes.empty()) continue;
    // gRPC calls unref_owner once it no longer needs the bytes, possibly after Write returns.
    slices.emplace_back(const_cast<std::uint8_t*>(piece.bytes.data()), piece.bytes.size(),
                        &unref_owner, new std::shared_ptr<const void>(piece.owner));
  }
  grpc::ByteBuffer encoded(slices.data(), slices.size());
  out->Swap(&encoded);
}

void FillingShareReader::read(std::uint64_t first_element, std::uint64_t count,
                              std::vector<PairsPiece>& out) {
  auto buffer = std::make_shared<Bytes>(count * kPairBytes);
  fill(first_element, *buffer);
  out.push_back({buffer, *buffer});
}

ShareDealerService::ShareDealerService(ShareSource& source) : source_(source) {
  using Handler =
      grpc::internal::ServerStreamingHandler<ShareDealerService, shares::v1::GetSharesRequest,
                                             WireShareChunk>;
  AddMethod(new grpc::internal::RpcServiceMethod(
      "/ppi.shares.v1.ShareDealer/GetShares", grpc::internal::RpcMethod::SERVER_STREAMING,
      new Handler(
          [](ShareDealerService* service, grpc::ServerContext* context,
             const shares::v1::GetSharesRequest* request,
             grpc::ServerWriter<WireShareChunk>* writer) {
            return service->GetShares(context, request, writer);
          },
          this)));
}

grpc::Status ShareDealerService::GetShares(grpc::ServerContext* context,
                                           const shares::v1::GetSharesRequest* request,
                                           grpc::ServerWriter<WireShareChunk>* writer) {
  const auto start = Clock::now();
  const std::string caller = peer_identity(*context);
  std::uint64_t elements = 0;
  grpc::Status status;
  std::string reason;
  try {
    status = stream_shares(source_, caller, *context, *request, *writer, elements);
  } catch (const ShareStreamBusy& e) {
    status = grpc::Status(grpc::StatusCode::ABORTED, e.what());
    reason = e.what();
  } catch (const Error& e) {
    status = to_status(e);
    reason = e.what();
  } catch (const std::exception& e) {
    status = grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
    reason = e.what();
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f",
                std::chrono::duration<double>(Clock::now() - start).count());
  const bool valid_id = is_uuid(request->batch_id());  // never log arbitrary input
  log::write(status.ok() ? log::Level::info : log::Level::warn, "grpc.get_shares",
             {{"batch_id", valid_id ? request->batch_id() : "(invalid)"},
              {"caller", caller.empty() ? "(none)" : caller},
              {"resume_from", std::to_string(request->resume_from_element())},
              {"elements", std::to_string(elements)},
              {"bytes", std::to_string(elements * kPairBytes)},
              {"seconds", seconds},
              {"status", std::to_string(status.error_code())},
              {"reason", status.ok()      ? ""
                         : reason.empty() ? status.error_message()
                                          : reason}});
  return status;
}

void keep_grpc_initialized() {
  static const bool initialized = (grpc_init(), true);  // never shut down: see the header
  (void)initialized;
}

GrpcServer::GrpcServer(std::string address, std::uint16_t port,
                       const std::optional<net::TlsOptions>& tls,
                       std::vector<grpc::Service*> services, int max_message_bytes) {
  keep_grpc_initialized();
  if (address.find(':') != std::string::npos && address.front() != '[')
    address = "[" + address + "]";  // an IPv6 literal
  const std::string target = address + ":" + std::to_string(port);
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(target, server_credentials(tls), &selected_port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  apply_server_limits(builder);
  builder.SetMaxReceiveMessageSize(max_message_bytes);
  builder.SetMaxSendMessageSize(max_message_bytes);
  for (grpc::Service* service : services) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (!server_ || selected_port <= 0)
    throw Error(Errc::unavailable, "cannot listen for gRPC on " + target);
  port_ = static_cast<std::uint16_t>(selected_port);
  log::info("grpc.listening", {{"address", address}, {"port", std::to_string(port_)}});
}

GrpcServer::~GrpcServer() {
  shutdown();
}

void GrpcServer::shutdown() {
  if (!server_) return;
  // Streams that are still running get one second to end, then gRPC cancels them: their
  // Write fails and the handler returns, so Wait() cannot hang on a stalled client.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
  server_.reset();
}

}  // namespace ppi::grpcsvc
