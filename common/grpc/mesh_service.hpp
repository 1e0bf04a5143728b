#pragma once
// The receiving side of the dealer mesh (common/proto/mesh.proto): generation sessions open an
// inbox here, and DealerMesh.Deliver routes each incoming message by (session, sender, tag),
// the sender being the caller's certificate CN, checked to be a member of the session.
// Group key agreement is delegated to a GroupKeyResponder, which the dealer implements over
// its own database.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "proto/mesh.grpc.pb.h"

namespace ppi::grpcsvc {

// Bytes of message data per MeshChunk: a few MiB, under the gRPC message limit.
inline constexpr std::size_t kMeshChunkBytes = 4u << 20;

// The messages one member receives during one session, until the session closes.
class MeshInbox {
 public:
  MeshInbox(std::string session, std::vector<std::string> members, std::size_t self);

  const std::string& session() const { return session_; }
  const std::vector<std::string>& members() const { return members_; }
  std::size_t self() const { return self_; }
  // The index of `identity` among the members; nullopt when it is not one.
  std::optional<std::size_t> member_index(const std::string& identity) const;

  // A whole message from member `from`. Error(conflict) if (from, tag) was already delivered.
  void deliver(std::size_t from, std::uint64_t tag, Bytes data);
  // The message of (from, tag): waits until it arrives, `from` is declared failed, the inbox
  // closes, or `timeout` passes; the last three throw Error(unavailable) naming the member.
  Bytes take(std::size_t from, std::uint64_t tag, std::chrono::milliseconds timeout);
  // Makes every current and later take() from `from` throw Error(unavailable, why).
  void fail(std::size_t from, const std::string& why);
  void close();
  // Closed (the session ended, or the generation was cancelled: MeshService::close).
  bool closed();

 private:
  std::string describe(std::size_t member) const;

  const std::string session_;
  const std::vector<std::string> members_;
  const std::size_t self_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<std::size_t, std::uint64_t>, Bytes> messages_;
  std::map<std::pair<std::size_t, std::uint64_t>, bool> seen_;  // delivered, taken or not
  std::map<std::size_t, std::string> failed_;
  bool closed_ = false;
};

// What a dealer answers when a member of a group exchanges keys with it.
class GroupKeyResponder {
 public:
  virtual ~GroupKeyResponder() = default;
  // `caller` is the verified CN. Throws ppi::Error (not_found for an unknown group,
  // permission_denied for a non-member, invalid_argument for a bad key).
  virtual mesh::v1::KeyExchangeResponse exchange(const std::string& caller,
                                                 const mesh::v1::KeyExchangeRequest& request) = 0;
};

class MeshService final : public mesh::v1::DealerMesh::Service {
 public:
  // max_message_bytes bounds one message (the receiver holds it whole until it is taken).
  MeshService(GroupKeyResponder& keys, std::uint64_t max_message_bytes);

  // Registers a session's inbox; Error(conflict) when the session is open already. Messages
  // for a session that is not open are refused (the sender retries).
  std::shared_ptr<MeshInbox> open(const std::string& session, std::vector<std::string> members,
                                  std::size_t self);
  void close(const std::string& session);

  grpc::Status Deliver(grpc::ServerContext* context,
                       grpc::ServerReader<mesh::v1::MeshChunk>* reader,
                       mesh::v1::DeliverAck* ack) override;
  grpc::Status ExchangeGroupKeys(grpc::ServerContext* context,
                                 const mesh::v1::KeyExchangeRequest* request,
                                 mesh::v1::KeyExchangeResponse* response) override;

 private:
  std::shared_ptr<MeshInbox> find(const std::string& session);

  GroupKeyResponder& keys_;
  const std::uint64_t max_message_bytes_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<MeshInbox>> sessions_;
};

}  // namespace ppi::grpcsvc
