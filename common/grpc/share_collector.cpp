#include "grpc/share_collector.hpp"

#include <grpcpp/create_channel.h>

#include <bit>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "grpc/grpc_tls.hpp"
#include "grpc/share_service.hpp"
#include "material/conversion.hpp"
#include "obs/log.hpp"

namespace ppi::grpcsvc {
namespace {

using shares::v1::GetSharesRequest;
using shares::v1::ShareChunk;

struct Chunk {
  std::uint64_t first = 0;
  std::string pairs;
};

struct Header {
  std::uint64_t total = 0;
  u128 mac_key_share = 0;
};

// Wipes the whole allocation of s, including bytes past its size that a parse may have left.
void wipe_capacity(std::string& s) {
  s.resize(s.capacity());
  cleanse(s.data(), s.size());
}

// What the reader threads and the combiner share. One mutex and one condition variable for
// everything: there are at most a few dealers, and each wake-up is for a ~1 MiB chunk.
class Shared {
 public:
  Shared(std::size_t dealers, std::size_t depth) : dealers_(dealers), depth_(depth) {}
  // Received pairs, summed or not, are the model owner's share in pieces: wiped at the end.
  ~Shared() {
    for (Dealer& dealer : dealers_) {
      for (std::string& buffer : dealer.spare) wipe_capacity(buffer);
      for (Chunk& chunk : dealer.queue) wipe_capacity(chunk.pairs);
    }
  }

  // Reader side. attach() registers the context of the stream about to start, so that stop()
  // can cancel it; false when stopping already.
  bool attach(std::size_t d, grpc::ClientContext* context) {
    std::lock_guard lock(mu_);
    if (stopped_) return false;
    dealers_[d].active = context;
    return true;
  }
  void detach(std::size_t d) {
    std::lock_guard lock(mu_);
    dealers_[d].active = nullptr;
  }
  void set_header(std::size_t d, Header header) {
    std::lock_guard lock(mu_);
    dealers_[d].header = header;
    cv_.notify_all();
  }
  // Blocks while the dealer's queue is full; false when stopping.
  bool push(std::size_t d, Chunk&& chunk) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stopped_ || dealers_[d].queue.size() < depth_; });
    if (stopped_) return false;
    dealers_[d].queue.push_back(std::move(chunk));
    cv_.notify_all();
    return true;
  }
  // The ~1 MiB pair buffers go round: the combiner gives back each buffer it has summed, and the
  // reader parses its next message into one, instead of allocating and freeing (and faulting
  // in) a buffer per message, which cost more than the sums.
  void recycle(std::size_t d, std::string&& buffer) {
    std::lock_guard lock(mu_);
    dealers_[d].spare.push_back(std::move(buffer));
  }
  void reuse(std::size_t d, std::string& buffer) {
    std::lock_guard lock(mu_);
    if (!buffer.empty() || dealers_[d].spare.empty()) return;
    buffer = std::move(dealers_[d].spare.back());
    dealers_[d].spare.pop_back();
  }
  // Waits `delay` unless stopped first; false when stopping.
  bool sleep(std::chrono::milliseconds delay) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, delay, [&] { return stopped_; });
  }
  bool stopped() {
    std::lock_guard lock(mu_);
    return stopped_;
  }
  // Keeps the first error, for the combiner to throw, and stops everyone.
  void fail(std::exception_ptr error) {
    std::lock_guard lock(mu_);
    if (!error_) error_ = error;
    stop_locked();
  }
  void stop() {
    std::lock_guard lock(mu_);
    stop_locked();
  }

  // Combiner side: these throw the first error of any reader.
  Header header(std::size_t d) {
    std::unique_lock lock(mu_);
    wait(lock, [&] { return dealers_[d].header.has_value(); });
    return *dealers_[d].header;
  }
  Chunk pop(std::size_t d) {
    std::unique_lock lock(mu_);
    wait(lock, [&] { return !dealers_[d].queue.empty(); });
    Chunk chunk = std::move(dealers_[d].queue.front());
    dealers_[d].queue.pop_front();
    cv_.notify_all();
    return chunk;
  }

 private:
  struct Dealer {
    std::optional<Header> header;
    std::deque<Chunk> queue;
    std::vector<std::string> spare;  // summed, at most queue_depth + 1
    grpc::ClientContext* active = nullptr;
  };

  template <class Ready>
  void wait(std::unique_lock<std::mutex>& lock, Ready ready) {
    cv_.wait(lock, [&] { return error_ || stopped_ || ready(); });
    if (error_) std::rethrow_exception(error_);
    if (stopped_) throw Error(Errc::internal, "share collection stopped");
  }
  void stop_locked() {
    stopped_ = true;
    for (Dealer& dealer : dealers_)
      if (dealer.active) dealer.active->TryCancel();  // Read() and Finish() return promptly
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Dealer> dealers_;
  const std::size_t depth_;
  bool stopped_ = false;
  std::exception_ptr error_;
};

bool retryable(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::INTERNAL:  // also what a stream reset by the server looks like
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::ABORTED:
      return true;
    default:
      return false;
  }
}

// One dealer's streams, from the first attempt to the last element; throws on failure.
class DealerReader {
 public:
  DealerReader(Shared& shared, std::size_t index, const DealerEndpoint& dealer,
               const std::string& batch_id, const CollectOptions& options,
               std::uint32_t chunk_elements, std::chrono::system_clock::time_point deadline)
      : shared_(shared),
        index_(index),
        dealer_(dealer),
        who_("dealer " + dealer.dealer_id + " (" + dealer.grpc_endpoint + ")"),
        options_(options),
        deadline_(deadline) {
    request_.set_batch_id(batch_id);
    request_.set_chunk_elements(chunk_elements);
  }

  std::uint64_t bytes_received() const { return bytes_; }

  void run() {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxMessageBytes);
    auto stub = shares::v1::ShareDealer::NewStub(grpc::CreateCustomChannel(
        dealer_.grpc_endpoint, channel_credentials(options_.tls, dealer_.dealer_id), args));
    for (int attempt = 1;; ++attempt) {
      grpc::ClientContext context;
      context.set_deadline(deadline_);
      if (!shared_.attach(index_, &context)) return;
      request_.set_resume_from_element(next_);
      auto stream = stub->GetShares(&context, request_);
      ShareChunk message;
      std::string violation;
      bool first = true;
      for (;;) {
        shared_.reuse(index_, *message.mutable_pairs());
        if (!stream->Read(&message)) break;
        violation = accept(message, first);
        if (!violation.empty()) {
          context.TryCancel();
          break;
        }
        first = false;
        std::size_t size = message.pairs().size();
        if (size == 0) continue;
        if (!shared_.push(index_, {message.first_element(), std::move(*message.mutable_pairs())}))
          break;  // stopping: the context was cancelled
        next_ += size / kPairBytes;
        bytes_ += size;
      }
      wipe_capacity(*message.mutable_pairs());  // it may hold a recycled buffer's old sum
      grpc::Status status = stream->Finish();
      shared_.detach(index_);
      if (!violation.empty()) throw Error(Errc::internal, who_ + ": " + violation);
      if (shared_.stopped()) return;
      if (total_ && next_ == *total_) {
        if (!status.ok())  // every element arrived: what went wrong afterwards changes nothing
          log::warn("grpc.collect_late_error", {{"batch_id", request_.batch_id()},
                                                {"dealer", dealer_.dealer_id},
                                                {"reason", status.error_message()}});
        return;
      }
      // A server that presented another dealer's certificate is refused at once: retrying
      // reaches the same server.
      if (!status.ok() && (!retryable(status) ||
                           !handshake_refusal(dealer_.dealer_id, dealer_.grpc_endpoint).empty())) {
        throw from_status(status, who_, dealer_.dealer_id, dealer_.grpc_endpoint);
      }
      std::string reason = status.ok() ? "stream ended at element " + std::to_string(next_) +
                                             (total_ ? " of " + std::to_string(*total_) : "")
                                       : status.error_message();
      if (attempt >= options_.max_attempts)
        throw Error(Errc::unavailable,
                    who_ + ": " + reason + " (" + std::to_string(attempt) + " attempts)");
      log::warn("grpc.collect_retry", {{"batch_id", request_.batch_id()},
                                       {"dealer", dealer_.dealer_id},
                                       {"attempt", std::to_string(attempt)},
                                       {"resume_from", std::to_string(next_)},
                                       {"reason", reason}});
      // Exponential back-off, so a restarting dealer has a chance; stop() cuts it short.
      if (!shared_.sleep(std::chrono::milliseconds(100 << std::min(attempt - 1, 4)))) return;
    }
  }

 private:
  // Checks one message against what this dealer sent so far; returns what is wrong, or "".
  std::string accept(const ShareChunk& message, bool first_of_stream) {
    if (first_of_stream) {
      const std::string& key = message.masked_mac_key_share();
      if (key.size() != kU128Bytes) return "first message without a 16-byte key share";
      if (!total_) {
        total_ = message.total_elements();
        key_ = key;
        shared_.set_header(
            index_, {*total_, load_u128_le(reinterpret_cast<const std::uint8_t*>(key.data()))});
      } else if (key != key_) {
        return "resumed stream has another key share";
      }
    }
    if (message.total_elements() != *total_)
      return "total_elements changed from " + std::to_string(*total_) + " to " +
             std::to_string(message.total_elements());
    if (message.first_element() != next_)
      return "sent element " + std::to_string(message.first_element()) + " where " +
             std::to_string(next_) + " was expected";
    const std::size_t size = message.pairs().size();
    if (size % kPairBytes != 0) return "pairs of " + std::to_string(size) + " bytes";
    if (size / kPairBytes > *total_ - next_) return "more elements than the batch holds";
    return "";
  }

  Shared& shared_;
  const std::size_t index_;
  const DealerEndpoint& dealer_;
  const std::string who_;
  const CollectOptions& options_;
  const std::chrono::system_clock::time_point deadline_;
  GetSharesRequest request_;
  std::optional<std::uint64_t> total_;  // from the first message ever received
  std::string key_;
  std::uint64_t next_ = 0;  // first element not received yet
  std::uint64_t bytes_ = 0;
};

// Sums chunk k of every dealer and hands it to the sink, until the batch is complete.
CollectResult combine(Shared& shared, const std::vector<DealerEndpoint>& dealers,
                      const material::BatchLayout& layout, const ShareSink& sink) {
  CollectResult result{0, 0, 0};
  for (std::size_t d = 0; d < dealers.size(); ++d) {
    Header header = shared.header(d);
    if (d == 0) result.total_elements = header.total;
    if (header.total != result.total_elements)
      throw Error(Errc::internal, "dealer " + dealers[d].dealer_id + " reports " +
                                      std::to_string(header.total) + " elements, dealer " +
                                      dealers[0].dealer_id + " " +
                                      std::to_string(result.total_elements));
    result.mac_key_share += header.mac_key_share;
  }
  if (result.total_elements != layout.element_count())
    throw Error(Errc::internal, "dealer " + dealers[0].dealer_id + " reports " +
                                    std::to_string(result.total_elements) +
                                    " elements, the model's plan has " +
                                    std::to_string(layout.element_count()));

  Bytes sum;
  std::vector<Chunk> parts(dealers.size());
  std::vector<ByteView> views(dealers.size());
  struct Wipe {  // the sums are the model owner's share: leave no copy behind
    Bytes& sum;
    std::vector<Chunk>& parts;
    ~Wipe() {
      cleanse(sum);
      for (Chunk& part : parts) wipe_capacity(part.pairs);
    }
  } wipe{sum, parts};
  for (std::uint64_t next = 0; next < result.total_elements;) {
    for (std::size_t d = 0; d < dealers.size(); ++d) {
      parts[d] = shared.pop(d);
      if (parts[d].first != next || parts[d].pairs.size() != parts[0].pairs.size())
        throw Error(Errc::internal, "dealer " + dealers[d].dealer_id + " sent " +
                                        std::to_string(parts[d].pairs.size() / kPairBytes) +
                                        " elements from " + std::to_string(parts[d].first) +
                                        ", dealer " + dealers[0].dealer_id + " " +
                                        std::to_string(parts[0].pairs.size() / kPairBytes) +
                                        " from " + std::to_string(next));
      views[d] = ByteView(reinterpret_cast<const std::uint8_t*>(parts[d].pairs.data()),
                          parts[d].pairs.size());
    }
    sum.resize(parts[0].pairs.size());
    material::combine_pairs(layout, next, views, sum);
    sink(next, sum);
    next += sum.size() / kPairBytes;
    // Not wiped here: the next message overwrites a recycled buffer, and Shared wipes what is
    // left when the collection ends.
    for (std::size_t d = 0; d < dealers.size(); ++d) shared.recycle(d, std::move(parts[d].pairs));
  }
  return result;
}

}  // namespace

CollectResult collect_shares(const std::vector<DealerEndpoint>& dealers,
                             const std::string& batch_id, const material::BatchLayout& layout,
                             const CollectOptions& options, const ShareSink& sink) {
  if (dealers.empty()) throw Error(Errc::invalid_argument, "no dealers to collect from");
  if (options.max_attempts < 1 || options.queue_depth < 1 ||
      options.chunk_elements > kMaxChunkElements)
    throw Error(Errc::invalid_argument,
                "collect options: max_attempts and queue_depth must be at least 1, "
                "chunk_elements at most " +
                    std::to_string(kMaxChunkElements));
  keep_grpc_initialized();
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = std::chrono::system_clock::now() + options.timeout;
  const std::uint32_t chunk_elements =
      options.chunk_elements == 0 ? kDefaultChunkElements : options.chunk_elements;

  Shared shared(dealers.size(), options.queue_depth);
  std::vector<std::unique_ptr<DealerReader>> readers;
  std::vector<std::thread> threads;
  auto join = [&] {
    for (std::thread& t : threads) t.join();
  };
  CollectResult result;
  try {
    for (std::size_t d = 0; d < dealers.size(); ++d) {
      readers.push_back(std::make_unique<DealerReader>(shared, d, dealers[d], batch_id, options,
                                                       chunk_elements, deadline));
      threads.emplace_back([&shared, &reader = *readers.back()] {
        try {
          reader.run();
        } catch (...) {
          shared.fail(std::current_exception());
        }
      });
    }
    result = combine(shared, dealers, layout, sink);
  } catch (...) {
    shared.stop();
    join();
    throw;
  }
  join();  // every reader has delivered its last element and now only ends its stream
  for (const auto& reader : readers) result.bytes_received += reader->bytes_received();

  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  log::info("grpc.collect", {{"batch_id", batch_id},
                             {"dealers", std::to_string(dealers.size())},
                             {"elements", std::to_string(result.total_elements)},
                             {"bytes", std::to_string(result.bytes_received)},
                             {"seconds", seconds}});
  return result;
}

}  // namespace ppi::grpcsvc
