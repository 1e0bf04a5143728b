#pragma once
// TEST FIXTURE: loads batches made by the trusted-dealer fixture (material_fixture.hpp) into
// the dealers' databases and registers them as available with the super dealer. It stands in
// for the dealers' own generation until that exists; nothing in an actor executable uses it.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "db/database.hpp"
#include "material/plan.hpp"
#include "ring/z2k.hpp"

namespace ppi::test {

struct LoadedBatch {
  std::string batch_id;
  u128 alpha = 0;  // the batch's MAC key, for tests that check the reconstruction
};

// Fresh, migrated databases of a super dealer (with `model_id` registered) and of dealer-1..3
// on the test database server of `dialect`: what load_fixture_batches fills, without actors.
struct FixtureDatabases {
  std::shared_ptr<db::Database> super_dealer;
  std::map<std::string, std::shared_ptr<db::Database>> dealers;
};
FixtureDatabases fixture_databases(db::Dialect dialect, const std::string& model_id);

// `dealer_dbs`: dealer id -> that dealer's database. Every batch goes to all of them.
std::vector<LoadedBatch> load_fixture_batches(
    db::Database& super_dealer_db,
    const std::map<std::string, std::shared_ptr<db::Database>>& dealer_dbs,
    const std::string& model_id, const material::MaterialPlan& plan, int count);

}  // namespace ppi::test
