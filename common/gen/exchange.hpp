#pragma once
// The one communication round of a generation: every member of sub-group g sends one message
// to every member of sub-group g + 1 (mod 3), which carries, item after item in plan order,
// the values of the instances both of them handle (roles.hpp share_of). Sender and receiver
// walk the plan the same way, so the message needs no framing beyond its length.

#include <cstdint>
#include <span>
#include <vector>

#include "core/bytes.hpp"
#include "gen/mesh.hpp"
#include "gen/roles.hpp"
#include "ring/z2k.hpp"

namespace ppi::gen {

class Exchange {
 public:
  Exchange(const Roles& roles, Mesh& mesh);
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // Sender side. `data` holds `per_instance` values for each instance of `mine` (this
  // member's share of an item of `count` instances), in order; each part goes to the member
  // of the next sub-group that handles those instances.
  void post(std::uint64_t count, Range mine, std::span<const u128> data, std::size_t per_instance);
  // Sends the accumulated messages (one per member of the next sub-group, possibly empty).
  void send(std::uint64_t tag);
  // Receives one message from each member of the previous sub-group. Throws
  // Error(unavailable) (from the mesh) when a member does not answer in time.
  void receive(std::uint64_t tag);
  // Receiver side: the values the previous sub-group posted for `mine`, in the same order.
  // Throws Error(invalid_argument) when a message is too short.
  void take(std::uint64_t count, Range mine, std::span<u128> out, std::size_t per_instance);
  // Throws Error(invalid_argument) when a message is longer than what the plan needs.
  void check_consumed() const;

 private:
  const Roles& roles_;
  Mesh& mesh_;
  std::vector<Bytes> outgoing_;  // by index in the next sub-group
  std::vector<Bytes> incoming_;  // by index in the previous sub-group
  std::vector<std::size_t> cursor_;
};

}  // namespace ppi::gen
