#include "gen/local_mesh.hpp"

#include <atomic>
#include <string>

#include "core/error.hpp"

namespace ppi::gen {

class LocalMesh final : public Mesh {
 public:
  LocalMesh(LocalMeshHub& hub, std::size_t self) : hub_(hub), self_(self) {}

  std::size_t parties() const override { return hub_.parties(); }
  std::size_t self() const override { return self_; }
  void send(std::size_t to, std::uint64_t tag, Bytes data) override {
    check_peer(to);
    sent_ += data.size();
    hub_.deliver(self_, to, tag, std::move(data));
  }
  Bytes receive(std::size_t from, std::uint64_t tag) override {
    check_peer(from);
    return hub_.await(from, self_, tag);
  }
  std::uint64_t bytes_sent() const override { return sent_; }

 private:
  void check_peer(std::size_t peer) const {
    if (peer >= hub_.parties() || peer == self_) {
      throw Error(Errc::invalid_argument, "mesh: no member " + std::to_string(peer) +
                                              " to talk to from member " + std::to_string(self_));
    }
  }
  LocalMeshHub& hub_;
  std::size_t self_;
  std::atomic<std::uint64_t> sent_{0};
};

LocalMeshHub::LocalMeshHub(std::size_t parties, std::chrono::milliseconds timeout)
    : parties_(parties), timeout_(timeout) {
  for (std::size_t i = 0; i < parties; ++i) {
    boxes_.push_back(std::make_unique<Mailbox>());
    members_.push_back(std::make_unique<LocalMesh>(*this, i));
  }
}

LocalMeshHub::~LocalMeshHub() {
  for (auto& box : boxes_) {
    for (auto& [key, data] : box->messages) cleanse(data);
  }
}

Mesh& LocalMeshHub::member(std::size_t self) {
  if (self >= parties_) {
    throw Error(Errc::invalid_argument, "mesh: no member " + std::to_string(self));
  }
  return *members_[self];
}

void LocalMeshHub::deliver(std::size_t from, std::size_t to, std::uint64_t tag, Bytes data) {
  Mailbox& box = *boxes_[to];
  {
    std::lock_guard lock(box.mu);
    if (!box.messages.emplace(std::pair{from, tag}, std::move(data)).second) {
      throw Error(Errc::invalid_argument, "mesh: member " + std::to_string(from) + " sent tag " +
                                              std::to_string(tag) + " to member " +
                                              std::to_string(to) + " twice");
    }
  }
  box.cv.notify_all();
}

Bytes LocalMeshHub::await(std::size_t from, std::size_t to, std::uint64_t tag) {
  Mailbox& box = *boxes_[to];
  std::unique_lock lock(box.mu);
  const auto key = std::pair{from, tag};
  if (!box.cv.wait_for(lock, timeout_, [&] { return box.messages.count(key) != 0; })) {
    throw Error(Errc::unavailable, "mesh: member " + std::to_string(from) +
                                       " did not answer member " + std::to_string(to) + " within " +
                                       std::to_string(timeout_.count()) + " ms");
  }
  auto node = box.messages.extract(key);
  return std::move(node.mapped());
}

}  // namespace ppi::gen
