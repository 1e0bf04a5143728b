#pragma once
// mpc::Channel over the gRPC stream of an online session (proto/online.proto): each message of
// the 2PC program is one Words message of 8-byte little-endian ring elements. The same class
// serves both ends; each passes the read and write of its side of the stream.

#include <cstddef>
#include <functional>

#include "mpc/channel.hpp"
#include "proto/online.pb.h"

namespace ppi::online {

// The largest gRPC message either party sends or accepts: 2^22 words (32 MiB), the bound the
// gRPC channels are configured with. A program message longer than that (a GPT-2 embedding
// opening of T x V values, a matrix's F = W - B) goes as consecutive chunks of at most
// kMaxWords words, which the receiver, knowing the length its program expects, joins; the
// round is still one. A chunk that would overrun the expected length is refused.
inline constexpr std::size_t kMaxWords = std::size_t{1} << 22;

class StreamChannel final : public mpc::Channel {
 public:
  // read: fills the message and returns false when the stream has ended; write: false when
  // the stream is broken. Both run on the calling thread.
  using Read = std::function<bool(ppi::online::v1::OnlineMessage&)>;
  using Write = std::function<bool(const ppi::online::v1::OnlineMessage&)>;
  StreamChannel(Read read, Write write, std::string peer)
      : read_(std::move(read)), write_(std::move(write)), peer_(std::move(peer)) {}

 protected:
  void post(std::span<const u64> words) override;
  std::vector<u64> next_message(std::size_t expected) override;

 private:
  Read read_;
  Write write_;
  std::string peer_;
};

}  // namespace ppi::online
