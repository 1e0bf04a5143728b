#include <doctest/doctest.h>

#include <thread>

#include "core/error.hpp"
#include "gen/local_mesh.hpp"

using namespace ppi;
using namespace std::chrono_literals;

TEST_CASE("local mesh delivers by (sender, tag) and counts bytes sent") {
  gen::LocalMeshHub hub(3, 2000ms);
  std::thread t([&] {
    hub.member(1).send(0, 7, Bytes{1, 2, 3});
    hub.member(1).send(0, 8, Bytes{4});
  });
  // Out of order on purpose: tag 8 first.
  CHECK(hub.member(0).receive(1, 8) == Bytes{4});
  CHECK(hub.member(0).receive(1, 7) == Bytes{1, 2, 3});
  t.join();
  CHECK(hub.member(1).bytes_sent() == 4);
  CHECK(hub.member(0).bytes_sent() == 0);
}

TEST_CASE("local mesh: a member that never answers is Error(unavailable) naming it") {
  gen::LocalMeshHub hub(3, 50ms);
  try {
    hub.member(0).receive(2, 1);
    FAIL("receive returned");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::unavailable);
    CHECK(std::string(e.what()).find("member 2") != std::string::npos);
  }
}

TEST_CASE("local mesh refuses itself, unknown members and a repeated tag") {
  gen::LocalMeshHub hub(3, 50ms);
  CHECK_THROWS_AS(hub.member(0).send(0, 1, Bytes{}), Error);
  CHECK_THROWS_AS(hub.member(0).send(3, 1, Bytes{}), Error);
  CHECK_THROWS_AS(hub.member(3), Error);
  hub.member(0).send(1, 1, Bytes{9});
  CHECK_THROWS_AS(hub.member(0).send(1, 1, Bytes{9}), Error);
}
