// The model owner: holds the private weights, fetches masked material from the dealers and runs
// the 2PC online phase with the client.
#include "app/actor.hpp"

int main(int argc, char** argv) {
  return ppi::app::run_server_actor(
      "model_owner",
      "Model owner: serves model_inference, collects its 2PC share from the dealers.", 8441, {},
      argc, argv, nullptr);
}
