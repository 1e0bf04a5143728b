#include "grpc/mesh_service.hpp"

#include <functional>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "grpc/grpc_tls.hpp"
#include "obs/log.hpp"

namespace ppi::grpcsvc {

MeshInbox::MeshInbox(std::string session, std::vector<std::string> members, std::size_t self)
    : session_(std::move(session)), members_(std::move(members)), self_(self) {
  if (self_ >= members_.size()) throw Error(Errc::invalid_argument, "mesh: self is not a member");
}

std::optional<std::size_t> MeshInbox::member_index(const std::string& identity) const {
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (members_[i] == identity) return i;
  }
  return std::nullopt;
}

std::string MeshInbox::describe(std::size_t member) const {
  return "member " + std::to_string(member) + " (" + members_.at(member) + ")";
}

void MeshInbox::deliver(std::size_t from, std::uint64_t tag, Bytes data) {
  std::lock_guard lock(mu_);
  if (closed_) throw Error(Errc::not_found, "session " + session_ + " is closed");
  if (!seen_.emplace(std::pair{from, tag}, true).second) {
    throw Error(Errc::conflict, "session " + session_ + ": " + describe(from) + " sent tag " +
                                    std::to_string(tag) + " twice");
  }
  messages_.emplace(std::pair{from, tag}, std::move(data));
  cv_.notify_all();
}

Bytes MeshInbox::take(std::size_t from, std::uint64_t tag, std::chrono::milliseconds timeout) {
  if (from >= members_.size() || from == self_) {
    throw Error(Errc::invalid_argument,
                "mesh: no message can come from member " + std::to_string(from));
  }
  std::unique_lock lock(mu_);
  const auto key = std::pair{from, tag};
  const bool ready = cv_.wait_for(lock, timeout, [&] {
    return closed_ || failed_.count(from) != 0 || messages_.count(key) != 0;
  });
  auto it = messages_.find(key);
  if (it != messages_.end()) {
    Bytes out = std::move(it->second);
    messages_.erase(it);
    return out;
  }
  if (auto f = failed_.find(from); f != failed_.end()) throw Error(Errc::unavailable, f->second);
  if (closed_) throw Error(Errc::unavailable, "session " + session_ + " was closed");
  (void)ready;
  throw Error(Errc::unavailable, "session " + session_ + ": " + describe(from) +
                                     " sent nothing under tag " + std::to_string(tag) + " within " +
                                     std::to_string(timeout.count()) + " ms");
}

void MeshInbox::fail(std::size_t from, const std::string& why) {
  std::lock_guard lock(mu_);
  failed_.emplace(from, why);
  cv_.notify_all();
}

void MeshInbox::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  for (auto& [key, data] : messages_) cleanse(data);
  messages_.clear();
  cv_.notify_all();
}

bool MeshInbox::closed() {
  std::lock_guard lock(mu_);
  return closed_;
}

MeshService::MeshService(GroupKeyResponder& keys, std::uint64_t max_message_bytes)
    : keys_(keys), max_message_bytes_(max_message_bytes) {}

std::shared_ptr<MeshInbox> MeshService::open(const std::string& session,
                                             std::vector<std::string> members, std::size_t self) {
  auto inbox = std::make_shared<MeshInbox>(session, std::move(members), self);
  std::lock_guard lock(mu_);
  if (!sessions_.emplace(session, inbox).second) {
    throw Error(Errc::conflict, "mesh session " + session + " is open already");
  }
  return inbox;
}

void MeshService::close(const std::string& session) {
  std::shared_ptr<MeshInbox> inbox;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return;
    inbox = std::move(it->second);
    sessions_.erase(it);
  }
  inbox->close();
}

std::shared_ptr<MeshInbox> MeshService::find(const std::string& session) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session);
  return it == sessions_.end() ? nullptr : it->second;
}

namespace {

// Reads one message; returns the inbox it belongs to and fills from/tag/data.
std::shared_ptr<MeshInbox> receive_message(
    const std::string& caller, grpc::ServerReader<mesh::v1::MeshChunk>& reader,
    std::uint64_t max_bytes,
    const std::function<std::shared_ptr<MeshInbox>(const std::string&)>& find, std::size_t& from,
    std::uint64_t& tag, Bytes& data) {
  if (caller.empty()) throw Error(Errc::unauthenticated, "the mesh needs a client certificate");
  mesh::v1::MeshChunk chunk;
  if (!reader.Read(&chunk)) throw Error(Errc::invalid_argument, "empty mesh message");
  if (!is_uuid(chunk.session())) {
    throw Error(Errc::invalid_argument, "mesh session must be a lower-case UUID");
  }
  if (!chunk.data().empty()) {
    throw Error(Errc::invalid_argument, "the first mesh chunk carries the header only");
  }
  if (chunk.total_bytes() > max_bytes) {
    throw Error(Errc::too_large, "mesh message of " + std::to_string(chunk.total_bytes()) +
                                     " bytes exceeds " + std::to_string(max_bytes));
  }
  auto inbox = find(chunk.session());
  if (!inbox) throw Error(Errc::not_found, "mesh session " + chunk.session() + " is not open");
  auto index = inbox->member_index(caller);
  if (!index || *index == inbox->self()) {
    throw Error(Errc::permission_denied,
                "'" + caller + "' is not a member of session " + chunk.session());
  }
  from = *index;
  tag = chunk.tag();
  // The sender waits for this before any payload leaves: it checks who answered.
  reader.SendInitialMetadata();
  const std::uint64_t total = chunk.total_bytes();
  data.reserve(total);
  while (reader.Read(&chunk)) {
    if (data.size() + chunk.data().size() > total) {
      cleanse(data);
      throw Error(Errc::invalid_argument, "mesh message longer than announced");
    }
    data.insert(data.end(), chunk.data().begin(), chunk.data().end());
    cleanse(chunk.mutable_data()->data(), chunk.data().size());
  }
  if (data.size() != total) {
    cleanse(data);
    throw Error(Errc::unavailable, "mesh message from " + caller + " was cut short");
  }
  return inbox;
}

}  // namespace

grpc::Status MeshService::Deliver(grpc::ServerContext* context,
                                  grpc::ServerReader<mesh::v1::MeshChunk>* reader,
                                  mesh::v1::DeliverAck*) {
  const std::string caller = peer_identity(*context);
  try {
    std::size_t from = 0;
    std::uint64_t tag = 0;
    Bytes data;
    auto inbox = receive_message(
        caller, *reader, max_message_bytes_, [this](const std::string& s) { return find(s); }, from,
        tag, data);
    inbox->deliver(from, tag, std::move(data));
    return grpc::Status::OK;
  } catch (const Error& e) {
    // A session not open yet is the normal start of a generation: the sender retries.
    log::write(e.code() == Errc::not_found ? log::Level::debug : log::Level::warn,
               "mesh.deliver_refused",
               {{"caller", caller.empty() ? "(none)" : caller}, {"reason", e.what()}});
    return to_status(e);
  }
}

grpc::Status MeshService::ExchangeGroupKeys(grpc::ServerContext* context,
                                            const mesh::v1::KeyExchangeRequest* request,
                                            mesh::v1::KeyExchangeResponse* response) {
  const std::string caller = peer_identity(*context);
  try {
    if (caller.empty()) throw Error(Errc::unauthenticated, "key exchange needs a certificate");
    *response = keys_.exchange(caller, *request);
    return grpc::Status::OK;
  } catch (const Error& e) {
    log::warn("mesh.key_exchange_refused",
              {{"caller", caller.empty() ? "(none)" : caller}, {"reason", e.what()}});
    return to_status(e);
  }
}

}  // namespace ppi::grpcsvc
