#include "super_dealer/registry_store.hpp"

#include "super_dealer/batch_state.hpp"

#include <nlohmann/json.hpp>

#include "obs/log.hpp"

namespace ppi::super_dealer {
namespace {

using PlanItems = std::vector<std::pair<std::string, std::uint64_t>>;

// The two plans of a model, kept alike: its plan and its mask plan.
constexpr const char* kPlans = "model_material_plans";
constexpr const char* kMaskPlans = "model_mask_plans";

PlanItems stored_plan(db::Session& s, const char* table, const std::string& model_id) {
  PlanItems out;
  for (const auto& row : s.exec(std::string("SELECT material_type, count FROM ") + table +
                                    " WHERE model_id = ? ORDER BY position",
                                {model_id})
                             .rows) {
    out.emplace_back(row.get_string(0), static_cast<std::uint64_t>(row.get_int(1)));
  }
  return out;
}

void insert_plan(db::Session& s, const char* table, const std::string& model_id,
                 const PlanRows& plan) {
  for (std::size_t i = 0; i < plan.items.size(); ++i) {
    const auto& [type, count] = plan.items[i];
    if (s.exec("SELECT name FROM material_types WHERE name = ?", {type}).rows.empty()) {
      s.exec("INSERT INTO material_types (name, element_count) VALUES (?, ?)",
             {type, static_cast<std::int64_t>(plan.elements_per_item[i])});
    }
    s.exec(std::string("INSERT INTO ") + table +
               " (model_id, position, material_type, count) VALUES (?, ?, ?, ?)",
           {model_id, static_cast<std::int64_t>(i), type, static_cast<std::int64_t>(count)});
  }
}

// The plan's JSON form with keys sorted (nlohmann's objects are): its canonical string.
std::string plan_json(const PlanItems& items) {
  nlohmann::json plan = nlohmann::json::array();
  for (const auto& [type, count] : items) plan.push_back({{"type", type}, {"count", count}});
  return plan.dump();
}

}  // namespace

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

void RegistryStore::register_model(const ModelRecord& m, const PlanRows& plan,
                                   const PlanRows& mask_plan) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto existing =
      s.exec("SELECT owner_identity, element_count FROM models WHERE model_id = ? FOR UPDATE",
             {m.model_id});
  if (!existing.rows.empty()) {
    if (existing.rows[0].get_string(0) != m.owner ||
        stored_plan(s, kPlans, m.model_id) != plan.items ||
        stored_plan(s, kMaskPlans, m.model_id) != mask_plan.items) {
      throw Error(Errc::conflict,
                  "model '" + m.model_id + "' is registered with another owner, plan or mask plan");
    }
    return;
  }
  s.exec("INSERT INTO models (model_id, owner_identity, element_count) VALUES (?, ?, ?)",
         {m.model_id, m.owner, static_cast<std::int64_t>(m.element_count)});
  insert_plan(s, kPlans, m.model_id, plan);
  insert_plan(s, kMaskPlans, m.model_id, mask_plan);
  tx.commit();
  log::info("model_registered", {{"model_id", m.model_id},
                                 {"owner", m.owner},
                                 {"elements", std::to_string(m.element_count)},
                                 {"mask_plan", mask_plan.items.empty() ? "none" : "yes"}});
}

std::optional<ModelRecord> RegistryStore::model(const std::string& model_id) {
  auto s = db_->acquire();
  auto r =
      s.exec("SELECT owner_identity, element_count FROM models WHERE model_id = ?", {model_id});
  if (r.rows.empty()) return std::nullopt;
  ModelRecord m{model_id, r.rows[0].get_string(0), "",
                static_cast<std::uint64_t>(r.rows[0].get_int(1)), ""};
  m.plan_json = plan_json(stored_plan(s, kPlans, model_id));
  const auto mask_plan = stored_plan(s, kMaskPlans, model_id);
  if (!mask_plan.empty()) m.mask_plan_json = plan_json(mask_plan);
  return m;
}

void RegistryStore::add_available_batch(const std::string& batch_id, const std::string& model_id,
                                        const std::string& dealer_group) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  s.exec("INSERT INTO batches (batch_id, model_id, dealer_group, state) VALUES (?, ?, ?, ?)",
         {batch_id, model_id, dealer_group, kBatches.name(BatchState::available)});
  ledger::append(s, batch_id, ledger::Event::available, "",
                 {{"model_id", model_id}, {"group", dealer_group}, {"source", "fixture"}});
  tx.commit();
}

std::optional<std::string> RegistryStore::bind_batch(const std::string& model_id,
                                                     const std::string& group,
                                                     const std::string& model_owner,
                                                     const std::string& client) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  // SKIP LOCKED: concurrent binders each claim a different row instead of queueing on one.
  auto r = s.exec(
      "SELECT batch_id FROM batches WHERE model_id = ? AND dealer_group = ? AND kind = 'batch' "
      "AND state = ? ORDER BY created_at, batch_id LIMIT 1 FOR UPDATE SKIP LOCKED",
      {model_id, group, kBatches.name(BatchState::available)});
  if (r.rows.empty()) return std::nullopt;
  std::string batch_id = r.rows[0].get_string(0);
  s.exec(
      "UPDATE batches SET model_owner_identity = ?, client_identity = ?, "
      "bound_at = CURRENT_TIMESTAMP WHERE batch_id = ?",
      {model_owner, client, batch_id});
  if (!kBatches.move_from(s, batch_id, BatchState::available, BatchState::bound,
                          ledger::Event::bound, model_owner,
                          {{"model_owner", model_owner},
                           {"client", client},
                           {"model_id", model_id},
                           {"group", group},
                           {"kind", "batch"}})) {
    throw Error(Errc::internal, "claimed batch changed under its lock");
  }
  tx.commit();
  return batch_id;
}

std::optional<MaskSetBinding> RegistryStore::bind_mask_set(const std::string& model_id,
                                                           const std::string& group,
                                                           const std::string& model_owner) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  // The pool keeper keeps one at most; were there two, the oldest is as good as the other.
  auto r = s.exec(
      "SELECT batch_id, state, model_owner_identity FROM batches WHERE model_id = ? AND "
      "dealer_group = ? AND kind = 'mask_set' AND state <> ? ORDER BY created_at, batch_id "
      "LIMIT 1 FOR UPDATE",
      {model_id, group, kBatches.name(BatchState::failed)});
  if (r.rows.empty()) return std::nullopt;
  MaskSetBinding out{r.rows[0].get_string(0), r.rows[0].get_string(1)};
  const BatchState state = kBatches.parse(out.state);
  if (state == BatchState::available) {
    s.exec(
        "UPDATE batches SET model_owner_identity = ?, bound_at = CURRENT_TIMESTAMP WHERE "
        "batch_id = ?",
        {model_owner, out.mask_set_id});
    kBatches.move(s, out.mask_set_id, BatchState::bound, ledger::Event::bound, model_owner,
                  {{"model_owner", model_owner},
                   {"model_id", model_id},
                   {"group", group},
                   {"kind", "mask_set"}});
    tx.commit();
    out.state = kBatches.name(BatchState::bound);
    return out;
  }
  if (state != BatchState::generating &&
      (r.rows[0].is_null(2) || r.rows[0].get_string(2) != model_owner)) {
    throw Error(Errc::conflict, "the mask set of model '" + model_id + "' for dealer group " +
                                    group + " is bound to another identity");
  }
  return out;
}

void RegistryStore::mark_failed(const std::string& batch_id, const std::string& reason) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  kBatches.move(s, batch_id, BatchState::failed, ledger::Event::failed, "",
                {{"reason", reason.substr(0, 1000)}});
  tx.commit();
}

void RegistryStore::mark_dealers_told(const std::string& batch_id) {
  auto s = db_->acquire();
  s.exec("UPDATE batches SET dealers_told_at = CURRENT_TIMESTAMP WHERE batch_id = ?", {batch_id});
}

std::vector<UntoldBinding> RegistryStore::untold_bindings() {
  auto s = db_->acquire();
  std::vector<UntoldBinding> out;
  for (const auto& row :
       s.exec("SELECT batch_id, dealer_group, kind, model_owner_identity, client_identity FROM "
              "batches WHERE state = ? AND dealers_told_at IS NULL ORDER BY bound_at",
              {kBatches.name(BatchState::bound)})
           .rows) {
    out.push_back({row.get_string(0), row.get_string(1), row.get_string(2), row.get_string(3),
                   row.is_null(4) ? std::string() : row.get_string(4)});
  }
  return out;
}

std::vector<UntoldFailure> RegistryStore::untold_failures() {
  auto s = db_->acquire();
  std::vector<UntoldFailure> out;
  for (const auto& row : s.exec("SELECT batch_id, dealer_group FROM batches WHERE state = ? AND "
                                "dealers_told_at IS NULL ORDER BY created_at",
                                {kBatches.name(BatchState::failed)})
                             .rows) {
    out.push_back({row.get_string(0), row.get_string(1)});
  }
  return out;
}

std::optional<BatchRecord> RegistryStore::batch(const std::string& batch_id) {
  auto s = db_->acquire();
  auto r = s.exec(
      "SELECT batch_id, model_id, dealer_group, state, model_owner_identity, client_identity, " +
          db::unix_ms_sql(s.dialect(), "created_at") + ", " +
          db::unix_ms_sql(s.dialect(), "bound_at") + " FROM batches WHERE batch_id = ?",
      {batch_id});
  if (r.rows.empty()) return std::nullopt;
  const auto& row = r.rows[0];
  auto text = [&](std::size_t i) { return row.is_null(i) ? std::string() : row.get_string(i); };
  BatchRecord b{text(0), text(1), text(2), text(3), text(4), text(5), row.get_int(6), {}};
  if (!row.is_null(7)) b.bound_at_ms = row.get_int(7);
  return b;
}

std::int64_t RegistryStore::count_batches(const std::string& model_id, const std::string& state) {
  auto s = db_->acquire();
  return s.exec("SELECT COUNT(*) FROM batches WHERE model_id = ? AND state = ?", {model_id, state})
      .rows.at(0)
      .get_int(0);
}

}  // namespace ppi::super_dealer
