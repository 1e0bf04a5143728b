#include "model_owner/mo_store.hpp"

namespace ppi::model_owner {

void ModelOwnerStore::save_model(const std::string& model_id, const std::string& plan_json) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto r = s.exec("SELECT plan FROM models WHERE model_id = ? FOR UPDATE", {model_id});
  if (r.rows.empty()) {
    s.exec("INSERT INTO models (model_id, weights_path, plan) VALUES (?, '', ?)",
           {model_id, plan_json});
  } else if (r.rows[0].get_string(0) != plan_json) {
    throw Error(Errc::conflict, "model '" + model_id + "' exists with another plan");
  }
  tx.commit();
}

std::optional<std::string> ModelOwnerStore::model_plan(const std::string& model_id) {
  auto s = db_->acquire();
  auto r = s.exec("SELECT plan FROM models WHERE model_id = ?", {model_id});
  if (r.rows.empty()) return std::nullopt;
  return r.rows[0].get_string(0);
}

void ModelOwnerStore::begin_inference(const std::string& batch_id, const std::string& model_id,
                                      const std::string& client, const std::string& dealers) {
  auto s = db_->acquire();
  s.exec(
      "INSERT INTO inferences (batch_id, model_id, client_identity, state, dealers) "
      "VALUES (?, ?, ?, 'collecting', ?)",
      {batch_id, model_id, client, dealers});
}

void ModelOwnerStore::mark_failed(const std::string& batch_id) {
  auto s = db_->acquire();
  s.exec("UPDATE inferences SET state = 'failed' WHERE batch_id = ?", {batch_id});
}

StoredShare ModelOwnerStore::share(const std::string& batch_id) {
  auto s = db_->acquire();
  auto r = s.exec(
      "SELECT mac_key_share, element_count FROM inferences WHERE batch_id = ? AND state = 'ready'",
      {batch_id});
  if (r.rows.empty()) throw Error(Errc::not_found, "no ready share for batch " + batch_id);
  Bytes key = r.rows[0].get_bytes(0);
  StoredShare out{load_u128_le(key.data()), static_cast<std::uint64_t>(r.rows[0].get_int(1))};
  cleanse(key);
  return out;
}

}  // namespace ppi::model_owner
