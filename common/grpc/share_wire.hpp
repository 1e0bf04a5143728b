#pragma once
// The dealer's ShareChunk messages, written without protobuf's copy of the pairs: a small
// header slice holds the protobuf encoding of every field but the pairs' bytes, and each piece
// of pairs goes into the message as a slice over memory the piece's owner keeps alive until
// gRPC has sent it (the database driver's result, where the dealer masked its share in place).
// The bytes on the wire are a valid ppi.shares.v1.ShareChunk, so the model owner parses them
// with the generated code (tests/grpc checks the two agree).

#include <grpcpp/impl/serialization_traits.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "grpc/share_service.hpp"

namespace ppi::grpcsvc {

struct WireShareChunk {
  std::uint64_t total_elements = 0;
  std::uint64_t first_element = 0;
  std::optional<u128> masked_mac_key_share;  // the first message of a stream only
  std::vector<PairsPiece> pairs;             // concatenated, in order
};

// The protobuf encoding of chunk into *out as slices (only the header is copied).
void encode_share_chunk(const WireShareChunk& chunk, grpc::ByteBuffer* out);

}  // namespace ppi::grpcsvc

template <>
class grpc::SerializationTraits<ppi::grpcsvc::WireShareChunk, void> {
 public:
  static grpc::Status Serialize(const ppi::grpcsvc::WireShareChunk& chunk, grpc::ByteBuffer* buffer,
                                bool* own_buffer) {
    ppi::grpcsvc::encode_share_chunk(chunk, buffer);
    *own_buffer = true;
    return grpc::Status::OK;
  }
  // Only the dealer writes this type; the model owner reads shares::v1::ShareChunk.
  static grpc::Status Deserialize(grpc::ByteBuffer*, ppi::grpcsvc::WireShareChunk*) {
    return {grpc::StatusCode::UNIMPLEMENTED, "WireShareChunk is written, never read"};
  }
};
