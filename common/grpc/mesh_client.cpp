#include "grpc/mesh_client.hpp"

#include <grpcpp/create_channel.h>

#include <algorithm>

#include "core/error.hpp"
#include "grpc/grpc_tls.hpp"
#include "grpc/share_service.hpp"
#include "obs/log.hpp"

namespace ppi::grpcsvc {
namespace {

using Clock = std::chrono::system_clock;

// Worth another attempt: the peer is not up yet, or has not opened the session yet; not a
// server that presented another member's certificate.
bool retryable(const grpc::Status& status, const MeshMember& member) {
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return true;
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         handshake_refusal(member.id, member.endpoint).empty();
}

}  // namespace

MeshNetwork::MeshNetwork(MeshService& service, MeshOptions options)
    : service_(service), options_(std::move(options)) {
  if (!options_.tls) {
    throw Error(Errc::config, "the dealer mesh needs TLS: members are told apart by their CN");
  }
  keep_grpc_initialized();
}

std::shared_ptr<grpc::Channel> MeshNetwork::channel(const MeshMember& member) {
  std::lock_guard lock(mu_);
  auto& channel = channels_[{member.id, member.endpoint}];
  if (!channel) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxMessageBytes);
    args.SetMaxSendMessageSize(kMaxMessageBytes);
    channel = grpc::CreateCustomChannel(member.endpoint,
                                        channel_credentials(options_.tls, member.id), args);
  }
  return channel;
}

std::unique_ptr<GrpcMesh> MeshNetwork::session(const std::string& session,
                                               std::vector<MeshMember> members, std::size_t self) {
  std::vector<std::string> ids;
  for (const auto& m : members) ids.push_back(m.id);
  auto inbox = service_.open(session, std::move(ids), self);
  return std::make_unique<GrpcMesh>(*this, std::move(inbox), std::move(members));
}

mesh::v1::KeyExchangeResponse MeshNetwork::exchange_keys(
    const MeshMember& peer, const mesh::v1::KeyExchangeRequest& request) {
  const std::string who = "dealer " + peer.id + " (" + peer.endpoint + ")";
  auto stub = mesh::v1::DealerMesh::NewStub(channel(peer));
  const auto deadline = Clock::now() + options_.timeout;
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    mesh::v1::KeyExchangeResponse response;
    grpc::Status status = stub->ExchangeGroupKeys(&context, request, &response);
    if (status.ok()) return response;
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || Clock::now() >= deadline ||
        !handshake_refusal(peer.id, peer.endpoint).empty()) {
      throw from_status(status, who, peer.id, peer.endpoint);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 << std::min(attempt - 1, 4)));
  }
}

GrpcMesh::GrpcMesh(MeshNetwork& network, std::shared_ptr<MeshInbox> inbox,
                   std::vector<MeshMember> members)
    : network_(network),
      inbox_(std::move(inbox)),
      members_(std::move(members)),
      peers_(members_.size()) {
  for (std::size_t j = 0; j < members_.size(); ++j) {
    if (j != self()) peers_[j].thread = std::thread([this, j] { run_sender(j); });
  }
}

GrpcMesh::~GrpcMesh() {
  {
    std::unique_lock lock(mu_);
    // A member that has finished may still have its last messages queued for slower peers.
    cv_.wait_for(lock, network_.options().timeout, [&] {
      return std::all_of(peers_.begin(), peers_.end(), [](const Peer& p) {
        return (p.queue.empty() && !p.busy) || p.error.has_value();
      });
    });
    stopping_ = true;
    for (Peer& p : peers_) {
      for (auto& [tag, data] : p.queue) cleanse(data);
      p.queue.clear();
    }
    cv_.notify_all();
  }
  for (Peer& p : peers_) {
    if (p.thread.joinable()) p.thread.join();
  }
  network_.service().close(inbox_->session());
}

std::string GrpcMesh::describe(std::size_t member) const {
  return "member " + std::to_string(member) + " (" + members_.at(member).id + ")";
}

void GrpcMesh::send(std::size_t to, std::uint64_t tag, Bytes data) {
  if (to >= members_.size() || to == self()) {
    throw Error(Errc::invalid_argument, "mesh: cannot send to member " + std::to_string(to));
  }
  std::lock_guard lock(mu_);
  Peer& peer = peers_[to];
  if (peer.error) throw Error(Errc::unavailable, *peer.error);
  peer.queue.emplace_back(tag, std::move(data));
  cv_.notify_all();
}

Bytes GrpcMesh::receive(std::size_t from, std::uint64_t tag) {
  return inbox_->take(from, tag, network_.options().timeout);
}

void GrpcMesh::run_sender(std::size_t to) {
  for (;;) {
    std::pair<std::uint64_t, Bytes> message;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !peers_[to].queue.empty(); });
      if (stopping_) return;
      message = std::move(peers_[to].queue.front());
      peers_[to].queue.pop_front();
      peers_[to].busy = true;
    }
    std::optional<std::string> error;
    try {
      deliver(to, message.first, message.second);
      bytes_sent_ += message.second.size();
    } catch (const Error& e) {
      error = e.what();
    }
    cleanse(message.second);
    std::lock_guard lock(mu_);
    peers_[to].busy = false;
    if (error) {
      log::warn("mesh.send_failed",
                {{"session", inbox_->session()}, {"member", members_[to].id}, {"reason", *error}});
      peers_[to].error = *error;
      for (auto& [tag, data] : peers_[to].queue) cleanse(data);
      peers_[to].queue.clear();
      // Whoever waits for this member's messages learns at once that it is gone.
      inbox_->fail(to, *error);
    }
    cv_.notify_all();
    if (error) return;
  }
}

void GrpcMesh::deliver(std::size_t to, std::uint64_t tag, const Bytes& data) {
  const MeshMember& member = members_[to];
  const std::string who =
      "session " + inbox_->session() + ": " + describe(to) + " at " + member.endpoint;
  auto stub = mesh::v1::DealerMesh::NewStub(network_.channel(member));
  const auto deadline = Clock::now() + network_.options().timeout;
  for (int attempt = 1;; ++attempt) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) throw Error(Errc::unavailable, who + ": the session was closed");
    }
    // Cancelled here (its batch was failed): retrying a peer that never opens the session
    // would hold this generation's thread for the whole timeout.
    if (inbox_->closed()) throw Error(Errc::unavailable, who + ": the session was cancelled");
    grpc::ClientContext context;
    context.set_deadline(deadline);
    mesh::v1::DeliverAck ack;
    auto stream = stub->Deliver(&context, &ack);
    mesh::v1::MeshChunk chunk;
    chunk.set_session(inbox_->session());
    chunk.set_tag(tag);
    chunk.set_total_bytes(data.size());
    bool open = stream->Write(chunk);
    if (open) {
      // The server sends its initial metadata only once it has accepted the header, so the
      // payload leaves only for a server that took this session.
      stream->WaitForInitialMetadata();
      chunk.Clear();
      for (std::size_t off = 0; open && off < data.size(); off += kMeshChunkBytes) {
        const std::size_t n = std::min(kMeshChunkBytes, data.size() - off);
        chunk.set_data(data.data() + off, n);
        open = stream->Write(chunk);
      }
      cleanse(chunk.mutable_data()->data(), chunk.data().size());
      if (open) stream->WritesDone();
    }
    grpc::Status status = stream->Finish();
    if (status.ok()) return;
    if (!retryable(status, member) || Clock::now() >= deadline) {
      Error e = from_status(status, who, member.id, member.endpoint);
      throw Error(Errc::unavailable,
                  std::string(e.what()) + " (after " + std::to_string(attempt) + " attempts)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 << std::min(attempt - 1, 4)));
  }
}

}  // namespace ppi::grpcsvc
