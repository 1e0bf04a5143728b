#include <doctest/doctest.h>

#include <thread>

#include "core/error.hpp"
#include "mpc/channel.hpp"

using namespace ppi;
using namespace ppi::mpc;

TEST_CASE("local channel: exchange delivers the peer's message and counts rounds and bytes") {
  auto [a, b] = make_local_channel_pair();
  std::vector<u64> got_b;
  std::thread peer([&, &b = b] { got_b = b->exchange(std::vector<u64>{7, 8, 9}); });
  const std::vector<u64> got_a = a->exchange(std::vector<u64>{1, 2, 3});
  peer.join();
  CHECK(got_a == std::vector<u64>{7, 8, 9});
  CHECK(got_b == std::vector<u64>{1, 2, 3});
  CHECK(a->rounds() == 1);
  CHECK(a->bytes_sent() == 24);
  CHECK(a->bytes_received() == 24);

  a->send(std::vector<u64>{5});
  CHECK(b->receive(1) == std::vector<u64>{5});
  CHECK(a->rounds() == 2);
  CHECK(b->rounds() == 2);
  CHECK(b->bytes_received() == 32);
}

TEST_CASE("local channel: a message of the wrong length is invalid_argument") {
  auto [a, b] = make_local_channel_pair();
  a->send(std::vector<u64>{1, 2});
  CHECK_THROWS_WITH_AS(b->receive(3), doctest::Contains("out of step"), Error);
  a->send(std::vector<u64>{1, 2});
  try {
    b->receive(1);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::invalid_argument);
  }
}

TEST_CASE("local channel: a closed peer is unavailable, messages already sent still arrive") {
  auto [a, b] = make_local_channel_pair();
  a->send(std::vector<u64>{4});
  a.reset();
  CHECK(b->receive(1) == std::vector<u64>{4});
  try {
    b->receive(1);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::unavailable);
  }
  CHECK_THROWS_AS(b->send(std::vector<u64>{1}), Error);
}

TEST_CASE("local channel: a receive blocked on the peer is woken when the peer goes away") {
  auto [a, b] = make_local_channel_pair();
  std::thread closer([a = std::move(a)]() mutable { a.reset(); });
  CHECK_THROWS_AS(b->receive(2), Error);
  closer.join();
}
