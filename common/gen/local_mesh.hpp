#pragma once
// An in-process Mesh for tests and benchmarks: n members, each used from its own thread,
// talking through blocking mailboxes. A receive that waits longer than the timeout throws
// Error(unavailable) naming the member, as the gRPC mesh does for a peer that is down.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "gen/mesh.hpp"

namespace ppi::gen {

class LocalMeshHub {
 public:
  LocalMeshHub(std::size_t parties, std::chrono::milliseconds timeout);
  ~LocalMeshHub();
  LocalMeshHub(const LocalMeshHub&) = delete;
  LocalMeshHub& operator=(const LocalMeshHub&) = delete;

  std::size_t parties() const { return parties_; }
  // Member `self`'s endpoint; valid while the hub lives. One thread per endpoint.
  Mesh& member(std::size_t self);

 private:
  friend class LocalMesh;
  struct Mailbox {
    std::mutex mu;
    std::condition_variable cv;
    std::map<std::pair<std::size_t, std::uint64_t>, Bytes> messages;  // (from, tag)
  };
  void deliver(std::size_t from, std::size_t to, std::uint64_t tag, Bytes data);
  Bytes await(std::size_t from, std::size_t to, std::uint64_t tag);

  std::size_t parties_;
  std::chrono::milliseconds timeout_;
  std::vector<std::unique_ptr<Mailbox>> boxes_;
  std::vector<std::unique_ptr<Mesh>> members_;
};

}  // namespace ppi::gen
