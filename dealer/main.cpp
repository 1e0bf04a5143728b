// The dealer: generates correlated randomness with the other dealers of its groups and releases
// masked shares to the bound model owner and seeds to the bound client.
#include "app/actor.hpp"

int main(int argc, char** argv) {
  return ppi::app::run_server_actor(
      "dealer",
      "Dealer: generates MPC material with its group and serves seeds (REST) and masked shares.",
      8450, {}, argc, argv, nullptr);
}
