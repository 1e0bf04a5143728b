#pragma once
// Operator commands of the super dealer executable, run with its configuration, database and
// certificate instead of serving (scripts/run-local.sh uses them):
//   super_dealer group DEALER...        form the group of these registered dealers (3 to 10)
//   super_dealer pool MODEL DEALER...   keep a pool of MODEL's batches for that ready group
//   super_dealer pools                  one line per pool: its batches per state
// A running super dealer's pool keeper picks a new pool up on its next pass.
#include <memory>

#include "config/config.hpp"
#include "db/database.hpp"

namespace ppi::super_dealer {

int run_admin_command(const config::Config& cfg, std::shared_ptr<db::Database> db);

}  // namespace ppi::super_dealer
