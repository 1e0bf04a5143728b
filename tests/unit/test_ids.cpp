// Dealer groups (core/ids.hpp): 3 to 10 distinct ids, as the replicated generator needs.
#include <doctest/doctest.h>

#include "core/error.hpp"
#include "core/ids.hpp"

using namespace ppi;

TEST_CASE("dealer groups: 3 to 10 distinct ids, sorted; other sizes say what a group needs") {
  CHECK(check_dealer_group({"d3", "d1", "d2"}) == std::vector<std::string>{"d1", "d2", "d3"});
  CHECK_THROWS_WITH_AS(check_dealer_group({"d1", "d2"}),
                       "dealers: a dealer group has 3 to 10 dealers, got 2", Error);
  std::vector<std::string> eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back("d" + std::to_string(i));
  CHECK_THROWS_WITH_AS(check_dealer_group(eleven),
                       "dealers: a dealer group has 3 to 10 dealers, got 11", Error);
  CHECK_THROWS_WITH_AS(check_dealer_group({"d1", "d2", "d1"}), "dealers: a dealer is listed twice",
                       Error);
}
