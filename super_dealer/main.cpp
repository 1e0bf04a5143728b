// The super dealer: registry of models, dealer groups and batch pools; binds each batch once.
#include "app/actor.hpp"

int main(int argc, char** argv) {
  return ppi::app::run_server_actor(
      "super_dealer",
      "Super dealer: registry of models, dealer groups and batch pools; binds each batch once.",
      8440, {}, argc, argv, nullptr);
}
