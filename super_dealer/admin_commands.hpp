#pragma once
// Operator commands of the super dealer executable, run with its configuration, database and
// certificate instead of serving (scripts/run-local.sh uses them), as app::Command entries:
//   super_dealer group DEALER...        form the group of these registered dealers (3 to 10)
//   super_dealer pool MODEL DEALER...   keep a pool of MODEL's batches for that ready group
//   super_dealer pools                  one line per pool: its batches per state
//   super_dealer models                 the registered models, with their batches per state
//   super_dealer batches [--model M] [--state S]   the batches, one row each
//   super_dealer groups                 the dealer groups, their state and members
// A running super dealer's pool keeper picks a new pool up on its next pass. Another command
// is one more entry of the table main.cpp passes to app::run_server_actor.
#include <vector>

#include "app/cli.hpp"

namespace ppi::super_dealer {

std::vector<app::Command> admin_commands();

}  // namespace ppi::super_dealer
