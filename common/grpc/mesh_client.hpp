#pragma once
// The sending side of the dealer mesh, and gen::Mesh over gRPC for one generation session.
//
// A GrpcMesh is one member's view of one session (session id = batch id). send() queues the
// message for a per-peer sender thread and returns; the thread streams it to the peer in
// chunks (DealerMesh.Deliver), first checking that the server's certificate CN is the member
// it expects, and retries while the peer has not opened the session yet or cannot be reached,
// up to the timeout. receive() takes from this member's inbox in the MeshService. Every
// failure is Error(unavailable) naming the member.

#include <grpcpp/channel.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gen/mesh.hpp"
#include "grpc/mesh_service.hpp"
#include "net/tls.hpp"

namespace ppi::grpcsvc {

struct MeshMember {
  std::string id;        // certificate CN
  std::string endpoint;  // host:port of its gRPC server
};

struct MeshOptions {
  std::optional<net::TlsOptions> tls;  // required: members are told apart by their CN
  // How long a peer may stay unreachable, or silent when a message from it is awaited.
  std::chrono::milliseconds timeout{60000};
};

class GrpcMesh;

// This dealer's place in the mesh: its MeshService (for inboxes) and one channel per peer
// endpoint, shared by every session of the process.
class MeshNetwork {
 public:
  MeshNetwork(MeshService& service, MeshOptions options);

  // Opens this member's inbox for `session` and returns the session's mesh. `members` in the
  // group's order; members[self] is this dealer.
  std::unique_ptr<GrpcMesh> session(const std::string& session, std::vector<MeshMember> members,
                                    std::size_t self);
  // Group key agreement with one member (unary, deadline = timeout). Throws
  // Error(unavailable) naming the member, or the member's refusal.
  mesh::v1::KeyExchangeResponse exchange_keys(const MeshMember& peer,
                                              const mesh::v1::KeyExchangeRequest& request);

  const MeshOptions& options() const { return options_; }
  MeshService& service() { return service_; }
  // A channel to member.endpoint whose handshake fails unless the server there presents
  // member.id's certificate (grpc_tls.hpp channel_credentials).
  std::shared_ptr<grpc::Channel> channel(const MeshMember& member);

 private:
  MeshService& service_;
  MeshOptions options_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<grpc::Channel>> channels_;
};

class GrpcMesh final : public gen::Mesh {
 public:
  GrpcMesh(MeshNetwork& network, std::shared_ptr<MeshInbox> inbox, std::vector<MeshMember> members);
  // Waits (up to the timeout) for queued messages to leave, then closes the session.
  ~GrpcMesh() override;
  GrpcMesh(const GrpcMesh&) = delete;
  GrpcMesh& operator=(const GrpcMesh&) = delete;

  std::size_t parties() const override { return members_.size(); }
  std::size_t self() const override { return inbox_->self(); }
  void send(std::size_t to, std::uint64_t tag, Bytes data) override;
  Bytes receive(std::size_t from, std::uint64_t tag) override;
  std::uint64_t bytes_sent() const override { return bytes_sent_.load(); }

 private:
  struct Peer {
    std::deque<std::pair<std::uint64_t, Bytes>> queue;
    bool busy = false;
    std::optional<std::string> error;
    std::thread thread;
  };
  void run_sender(std::size_t to);
  // One message to one member, retried until delivered or the deadline; throws on failure.
  void deliver(std::size_t to, std::uint64_t tag, const Bytes& data);
  std::string describe(std::size_t member) const;

  MeshNetwork& network_;
  std::shared_ptr<MeshInbox> inbox_;
  const std::vector<MeshMember> members_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Peer> peers_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> bytes_sent_{0};
};

}  // namespace ppi::grpcsvc
