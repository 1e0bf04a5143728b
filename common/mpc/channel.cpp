#include "mpc/channel.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>

#include "core/error.hpp"

namespace ppi::mpc {

std::vector<u64> Channel::exchange(std::span<const u64> mine) {
  post(mine);
  bytes_sent_ += mine.size() * sizeof(u64);
  std::vector<u64> theirs = checked_next(mine.size());
  ++rounds_;
  return theirs;
}

void Channel::send(std::span<const u64> words) {
  post(words);
  bytes_sent_ += words.size() * sizeof(u64);
  ++rounds_;
}

std::vector<u64> Channel::receive(std::size_t count) {
  std::vector<u64> words = checked_next(count);
  ++rounds_;
  return words;
}

std::vector<u64> Channel::checked_next(std::size_t count) {
  std::vector<u64> words = next_message(count);
  bytes_received_ += words.size() * sizeof(u64);
  if (words.size() != count) {
    throw Error(Errc::invalid_argument, "peer sent " + std::to_string(words.size()) +
                                            " ring elements where " + std::to_string(count) +
                                            " were expected: the parties are out of step");
  }
  return words;
}

namespace {

// One direction of the pair. `closed` is set when either end goes away.
struct Queue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<u64>> messages;
  bool closed = false;

  void close() {
    {
      std::lock_guard lock(mu);
      closed = true;
    }
    cv.notify_all();
  }
};

class LocalChannel final : public Channel {
 public:
  LocalChannel(std::shared_ptr<Queue> out, std::shared_ptr<Queue> in)
      : out_(std::move(out)), in_(std::move(in)) {}
  ~LocalChannel() override {
    out_->close();
    in_->close();
  }

 protected:
  void post(std::span<const u64> words) override {
    {
      std::lock_guard lock(out_->mu);
      if (out_->closed) throw Error(Errc::unavailable, "local channel: the peer has closed");
      out_->messages.emplace_back(words.begin(), words.end());
    }
    out_->cv.notify_one();
  }

  std::vector<u64> next_message(std::size_t) override {
    std::unique_lock lock(in_->mu);
    in_->cv.wait(lock, [&] { return !in_->messages.empty() || in_->closed; });
    if (in_->messages.empty()) throw Error(Errc::unavailable, "local channel: the peer has closed");
    std::vector<u64> m = std::move(in_->messages.front());
    in_->messages.pop_front();
    return m;
  }

 private:
  std::shared_ptr<Queue> out_, in_;
};

}  // namespace

std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>> make_local_channel_pair() {
  auto a_to_b = std::make_shared<Queue>();
  auto b_to_a = std::make_shared<Queue>();
  return {std::make_unique<LocalChannel>(a_to_b, b_to_a),
          std::make_unique<LocalChannel>(b_to_a, a_to_b)};
}

}  // namespace ppi::mpc
