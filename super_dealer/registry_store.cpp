#include "super_dealer/registry_store.hpp"

#include <nlohmann/json.hpp>

#include "obs/log.hpp"

namespace ppi::super_dealer {

void RegistryStore::upsert_dealer(const DealerRecord& d) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto r = s.exec("SELECT dealer_id FROM dealers WHERE dealer_id = ? FOR UPDATE", {d.dealer_id});
  if (r.rows.empty()) {
    s.exec(
        "INSERT INTO dealers (dealer_id, rest_url, grpc_endpoint, certificate_subject) "
        "VALUES (?, ?, ?, ?)",
        {d.dealer_id, d.rest_url, d.grpc_endpoint, d.dealer_id});
  } else {
    s.exec("UPDATE dealers SET rest_url = ?, grpc_endpoint = ? WHERE dealer_id = ?",
           {d.rest_url, d.grpc_endpoint, d.dealer_id});
  }
  tx.commit();
}

std::vector<DealerRecord> RegistryStore::dealers() {
  auto s = db_->acquire();
  std::vector<DealerRecord> out;
  for (const auto& row :
       s.exec("SELECT dealer_id, rest_url, grpc_endpoint FROM dealers ORDER BY dealer_id").rows) {
    out.push_back({row.get_string(0), row.get_string(1), row.get_string(2)});
  }
  return out;
}

std::vector<DealerRecord> RegistryStore::dealers(const std::vector<std::string>& ids) {
  auto s = db_->acquire();
  std::vector<DealerRecord> out;
  for (const auto& id : ids) {
    auto r =
        s.exec("SELECT dealer_id, rest_url, grpc_endpoint FROM dealers WHERE dealer_id = ?", {id});
    if (r.rows.empty()) throw Error(Errc::not_found, "unknown dealer '" + id + "'");
    out.push_back({r.rows[0].get_string(0), r.rows[0].get_string(1), r.rows[0].get_string(2)});
  }
  return out;
}

void RegistryStore::register_model(const ModelRecord& m,
                                   const std::vector<std::pair<std::string, std::uint64_t>>& items,
                                   const std::vector<std::uint64_t>& elements_per_item) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto existing =
      s.exec("SELECT owner_identity, element_count FROM models WHERE model_id = ? FOR UPDATE",
             {m.model_id});
  if (!existing.rows.empty()) {
    auto plan = s.exec(
        "SELECT material_type, count FROM model_material_plans WHERE model_id = ? "
        "ORDER BY position",
        {m.model_id});
    bool same = existing.rows[0].get_string(0) == m.owner && plan.rows.size() == items.size();
    for (std::size_t i = 0; same && i < items.size(); ++i) {
      same = plan.rows[i].get_string(0) == items[i].first &&
             static_cast<std::uint64_t>(plan.rows[i].get_int(1)) == items[i].second;
    }
    if (!same) {
      throw Error(Errc::conflict,
                  "model '" + m.model_id + "' is registered with another owner or plan");
    }
    return;
  }
  s.exec("INSERT INTO models (model_id, owner_identity, element_count) VALUES (?, ?, ?)",
         {m.model_id, m.owner, static_cast<std::int64_t>(m.element_count)});
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& [type, count] = items[i];
    if (s.exec("SELECT name FROM material_types WHERE name = ?", {type}).rows.empty()) {
      s.exec("INSERT INTO material_types (name, element_count) VALUES (?, ?)",
             {type, static_cast<std::int64_t>(elements_per_item[i])});
    }
    s.exec(
        "INSERT INTO model_material_plans (model_id, position, material_type, count) "
        "VALUES (?, ?, ?, ?)",
        {m.model_id, static_cast<std::int64_t>(i), type, static_cast<std::int64_t>(count)});
  }
  tx.commit();
  log::info("model_registered", {{"model_id", m.model_id},
                                 {"owner", m.owner},
                                 {"elements", std::to_string(m.element_count)}});
}

std::optional<ModelRecord> RegistryStore::model(const std::string& model_id) {
  auto s = db_->acquire();
  auto r =
      s.exec("SELECT owner_identity, element_count FROM models WHERE model_id = ?", {model_id});
  if (r.rows.empty()) return std::nullopt;
  ModelRecord m{model_id, r.rows[0].get_string(0), "",
                static_cast<std::uint64_t>(r.rows[0].get_int(1))};
  nlohmann::json plan = nlohmann::json::array();
  for (const auto& row :
       s.exec("SELECT material_type, count FROM model_material_plans WHERE model_id = ? "
              "ORDER BY position",
              {model_id})
           .rows) {
    plan.push_back({{"type", row.get_string(0)}, {"count", row.get_int(1)}});
  }
  m.plan_json = plan.dump();
  return m;
}

void RegistryStore::add_available_batch(const std::string& batch_id, const std::string& model_id,
                                        const std::string& dealer_group) {
  auto s = db_->acquire();
  s.exec(
      "INSERT INTO batches (batch_id, model_id, dealer_group, state) VALUES (?, ?, ?, "
      "'available')",
      {batch_id, model_id, dealer_group});
}

std::optional<std::string> RegistryStore::bind_batch(const std::string& model_id,
                                                     const std::string& group,
                                                     const std::string& model_owner,
                                                     const std::string& client) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  // SKIP LOCKED: concurrent binders each claim a different row instead of queueing on one.
  auto r = s.exec(
      "SELECT batch_id FROM batches WHERE model_id = ? AND dealer_group = ? AND "
      "state = 'available' ORDER BY created_at, batch_id LIMIT 1 FOR UPDATE SKIP LOCKED",
      {model_id, group});
  if (r.rows.empty()) return std::nullopt;
  std::string batch_id = r.rows[0].get_string(0);
  auto u = s.exec(
      "UPDATE batches SET state = 'bound', model_owner_identity = ?, client_identity = ?, "
      "bound_at = CURRENT_TIMESTAMP WHERE batch_id = ? AND state = 'available'",
      {model_owner, client, batch_id});
  if (u.affected != 1) throw Error(Errc::internal, "claimed batch changed under its lock");
  tx.commit();
  return batch_id;
}

void RegistryStore::mark_failed(const std::string& batch_id) {
  auto s = db_->acquire();
  s.exec("UPDATE batches SET state = 'failed' WHERE batch_id = ?", {batch_id});
}

std::optional<BatchRecord> RegistryStore::batch(const std::string& batch_id) {
  auto s = db_->acquire();
  auto r = s.exec(
      "SELECT batch_id, model_id, dealer_group, state, model_owner_identity, client_identity, "
      "created_at, bound_at FROM batches WHERE batch_id = ?",
      {batch_id});
  if (r.rows.empty()) return std::nullopt;
  const auto& row = r.rows[0];
  auto text = [&](std::size_t i) { return row.is_null(i) ? std::string() : row.get_string(i); };
  return BatchRecord{text(0), text(1), text(2), text(3), text(4), text(5), text(6), text(7)};
}

std::int64_t RegistryStore::count_batches(const std::string& model_id, const std::string& state) {
  auto s = db_->acquire();
  return s.exec("SELECT COUNT(*) FROM batches WHERE model_id = ? AND state = ?", {model_id, state})
      .rows.at(0)
      .get_int(0);
}

}  // namespace ppi::super_dealer
