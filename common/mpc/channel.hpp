#pragma once
// The transport between the two parties of the online phase (party 0 = model owner, party 1 =
// client). The operations of mpc/ are written against this interface only; the gRPC stream of
// the online session and the in-memory pair of tests implement it.
//
// A message is a vector of u64 ring elements. Messages between the two parties are delivered
// in order. One *round* is one message flight: exchange() (both parties send, then each reads
// the peer's message) counts one round, and so does a one-way send() for the sender and its
// matching receive() for the receiver.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "ring/z2k.hpp"

namespace ppi::mpc {

class Channel {
 public:
  virtual ~Channel() = default;
  Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Sends `mine` and returns the peer's message of the same length: both parties call it in
  // the same step. A peer message of another length is Error(invalid_argument).
  std::vector<u64> exchange(std::span<const u64> mine);
  // One-way: this party sends, the peer calls receive(words.size()).
  void send(std::span<const u64> words);
  // The peer's next message, which must hold exactly `count` words (else invalid_argument).
  std::vector<u64> receive(std::size_t count);

  std::uint64_t rounds() const { return rounds_; }
  std::uint64_t bytes_sent() const { return bytes_sent_; }
  std::uint64_t bytes_received() const { return bytes_received_; }

 protected:
  // Hands a message to the transport without waiting for the peer to read it.
  virtual void post(std::span<const u64> words) = 0;
  // Blocks until the peer's next message arrives; throws Error(unavailable) when the peer is
  // gone. `expected` is what the caller will accept, for transports that can bound a read.
  virtual std::vector<u64> next_message(std::size_t expected) = 0;

 private:
  std::vector<u64> checked_next(std::size_t count);

  std::uint64_t rounds_ = 0;
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t bytes_received_ = 0;
};

// Two connected in-memory channels (thread-safe queues), for two parties running in two threads
// of one process. Destroying or closing one end makes the other's pending and later receives
// fail with Error(unavailable) instead of waiting forever.
std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>> make_local_channel_pair();

}  // namespace ppi::mpc
