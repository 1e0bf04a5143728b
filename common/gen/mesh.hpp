#pragma once
// The transport among the n dealers of a group during generation (PROTOCOL.md section 4).
// The generation protocol (gen/) is written against this interface only; the gRPC mesh
// (dealer <-> dealer, mTLS) and the in-process mesh of tests and benchmarks implement it.
//
// Members are numbered 0 .. parties() - 1 in the group's canonical order. A message is
// identified by (sender, receiver, tag); the protocol chooses tags so that no two messages
// between the same pair in one generation session share a tag. Messages may be large (a
// resharing round of a big batch): the transport chunks them as it needs.

#include <cstddef>
#include <cstdint>

#include "core/bytes.hpp"

namespace ppi::gen {

class Mesh {
 public:
  virtual ~Mesh() = default;

  virtual std::size_t parties() const = 0;
  virtual std::size_t self() const = 0;

  // Hands `data` to the transport for member `to` (never self) under `tag` and returns
  // without waiting for the peer to receive it. A transport error may be thrown here or by a
  // later receive(), as Error(unavailable) naming the member.
  virtual void send(std::size_t to, std::uint64_t tag, Bytes data) = 0;
  // The message member `from` sent to this member under `tag`. Waits up to the transport's
  // timeout, then throws Error(unavailable) naming the member.
  virtual Bytes receive(std::size_t from, std::uint64_t tag) = 0;

  // Payload bytes this member has sent so far (for benchmarks: bytes per tuple).
  virtual std::uint64_t bytes_sent() const = 0;
};

}  // namespace ppi::gen
