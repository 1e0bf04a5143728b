#include "fixture_loader.hpp"

#include "core/ids.hpp"
#include "crypto/uuid.hpp"
#include "db/migrate.hpp"
#include "db_servers.hpp"
#include "dealer/dealer_store.hpp"
#include "material_fixture.hpp"
#include "super_dealer/registry_store.hpp"

namespace ppi::test {

FixtureDatabases fixture_databases(db::Dialect dialect, const std::string& model_id) {
  auto& server = test_databases().server(dialect);
  FixtureDatabases out;
  for (const char* id : {"dealer-1", "dealer-2", "dealer-3"}) {
    out.dealers[id] = db::Database::open({.url = server.create_database("dealer")});
    db::migrate(*out.dealers[id], "dealer");
  }
  out.super_dealer = db::Database::open({.url = server.create_database("super_dealer")});
  db::migrate(*out.super_dealer, "super_dealer");
  out.super_dealer->acquire().exec("INSERT INTO models (model_id) VALUES (?)", {model_id});
  return out;
}

std::vector<LoadedBatch> load_fixture_batches(
    db::Database& super_dealer_db,
    const std::map<std::string, std::shared_ptr<db::Database>>& dealer_dbs,
    const std::string& model_id, const material::MaterialPlan& plan, int count) {
  std::vector<std::string> ids;
  std::vector<std::unique_ptr<dealer::DealerStore>> stores;
  for (const auto& [id, database] : dealer_dbs) {
    ids.push_back(id);
    stores.push_back(std::make_unique<dealer::DealerStore>(database));
  }
  const std::string group = group_key(check_dealer_group(ids));
  // The registry store wants shared ownership; the caller keeps the database alive.
  super_dealer::RegistryStore registry(
      std::shared_ptr<db::Database>(&super_dealer_db, [](db::Database*) {}));
  std::vector<LoadedBatch> loaded;
  for (int b = 0; b < count; ++b) {
    LoadedBatch batch{random_uuid(), 0};
    FixtureBatch fixture = make_fixture_batch(plan, stores.size());
    for (std::size_t i = 0; i < stores.size(); ++i) {
      stores[i]->store_batch(batch.batch_id, model_id, group, plan, fixture.dealer_shares[i]);
    }
    registry.add_available_batch(batch.batch_id, model_id, group);
    batch.alpha = fixture.alpha;
    loaded.push_back(batch);
  }
  return loaded;
}

}  // namespace ppi::test
