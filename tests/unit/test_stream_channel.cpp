// The online session's channel over its gRPC stream (online/stream_channel.hpp): program
// messages longer than one gRPC message go as chunks and come back whole; a peer's chunk of the
// wrong length or a control message mid-program is refused.

#include <doctest/doctest.h>

#include <deque>
#include <numeric>

#include "core/error.hpp"
#include "online/stream_channel.hpp"

using namespace ppi;
using ppi::online::v1::OnlineMessage;

namespace {

// One direction of a stream: what one end writes, the other reads.
struct Pipe {
  std::deque<OnlineMessage> queue;
  online::StreamChannel writer() {
    return online::StreamChannel([](OnlineMessage&) { return false; },
                                 [this](const OnlineMessage& m) {
                                   queue.push_back(m);
                                   return true;
                                 },
                                 "writer");
  }
  online::StreamChannel reader() {
    return online::StreamChannel(
        [this](OnlineMessage& m) {
          if (queue.empty()) return false;
          m = std::move(queue.front());
          queue.pop_front();
          return true;
        },
        [](const OnlineMessage&) { return true; }, "the peer");
  }
};

}  // namespace

TEST_CASE("stream channel: a message beyond one gRPC message goes as chunks and arrives whole") {
  Pipe pipe;
  online::StreamChannel out = pipe.writer(), in = pipe.reader();
  std::vector<u64> big(2 * online::kMaxWords + 5);
  std::iota(big.begin(), big.end(), u64{7});
  out.send(big);
  CHECK(pipe.queue.size() == 3);  // 2^22, 2^22 and 5 words
  out.send(std::vector<u64>{});   // an empty message is one empty chunk
  out.send(std::vector<u64>{1, 2, 3});
  CHECK(pipe.queue.size() == 5);
  CHECK(in.receive(big.size()) == big);
  CHECK(in.receive(0).empty());
  CHECK(in.receive(3) == std::vector<u64>{1, 2, 3});
  CHECK(out.rounds() == 3);  // one round per message, whatever its chunks
  CHECK(in.rounds() == 3);
}

TEST_CASE("stream channel: a chunk of another length, a control message or an end is refused") {
  Pipe pipe;
  online::StreamChannel out = pipe.writer(), in = pipe.reader();
  out.send(std::vector<u64>(10, 1));
  try {
    in.receive(11);
    FAIL("accepted 10 words for 11");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::invalid_argument);
    CHECK(std::string(e.what()).find("80 bytes where 11 ring elements were expected") !=
          std::string::npos);
  }
  OnlineMessage start;
  start.mutable_start()->set_batch_id("x");
  pipe.queue.push_back(start);
  CHECK_THROWS_WITH_AS(in.receive(1), doctest::Contains("control message"), Error);
  try {
    in.receive(1);  // nothing left: the stream has ended
    FAIL("read past the end");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::unavailable);
  }
}
