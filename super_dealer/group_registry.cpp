#include "super_dealer/group_registry.hpp"

#include "core/clock.hpp"
#include "obs/log.hpp"
#include "super_dealer/batch_state.hpp"

namespace ppi::super_dealer {
namespace {

std::vector<std::string> members_of(db::Session& s, const std::string& group_id) {
  std::vector<std::string> out;
  for (const auto& row :
       s.exec("SELECT dealer_id FROM dealer_group_members WHERE group_id = ? ORDER BY position",
              {group_id})
           .rows) {
    out.push_back(row.get_string(0));
  }
  return out;
}

GroupRecord group_of(db::Session& s, const db::Row& row) {
  GroupRecord g{row.get_string(0), row.get_string(1), row.is_null(2) ? "" : row.get_string(2), {}};
  g.members = members_of(s, g.group_id);
  return g;
}

}  // namespace

GroupRecord GroupRegistry::create_group(const std::string& group_id,
                                        const std::vector<std::string>& members,
                                        const std::string& created_by) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto r = s.exec("SELECT group_id FROM dealer_groups WHERE group_id = ? FOR UPDATE", {group_id});
  if (r.rows.empty()) {
    s.exec("INSERT INTO dealer_groups (group_id, state, created_by) VALUES (?, 'forming', ?)",
           {group_id, created_by});
    for (std::size_t i = 0; i < members.size(); ++i) {
      s.exec("INSERT INTO dealer_group_members (group_id, position, dealer_id) VALUES (?, ?, ?)",
             {group_id, static_cast<std::int64_t>(i), members[i]});
    }
  }
  tx.commit();
  return *group(group_id);
}

void GroupRegistry::mark_group(const std::string& group_id, bool ready, const std::string& error) {
  auto s = db_->acquire();
  if (ready) {
    s.exec(
        "UPDATE dealer_groups SET state = 'ready', error = NULL, ready_at = CURRENT_TIMESTAMP "
        "WHERE group_id = ?",
        {group_id});
  } else {
    s.exec("UPDATE dealer_groups SET error = ? WHERE group_id = ?",
           {error.substr(0, 1000), group_id});
  }
}

std::optional<GroupRecord> GroupRegistry::group(const std::string& group_id) {
  auto s = db_->acquire();
  auto r =
      s.exec("SELECT group_id, state, error FROM dealer_groups WHERE group_id = ?", {group_id});
  if (r.rows.empty()) return std::nullopt;
  return group_of(s, r.rows[0]);
}

std::vector<GroupRecord> GroupRegistry::groups() {
  auto s = db_->acquire();
  std::vector<GroupRecord> out;
  for (const auto& row :
       s.exec("SELECT group_id, state, error FROM dealer_groups ORDER BY group_id").rows) {
    out.push_back(group_of(s, row));
  }
  return out;
}

void GroupRegistry::add_pool(const std::string& model_id, const std::string& group_id) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto g = s.exec("SELECT state FROM dealer_groups WHERE group_id = ?", {group_id});
  if (g.rows.empty()) throw Error(Errc::not_found, "unknown group " + group_id);
  if (g.rows[0].get_string(0) != "ready") {
    throw Error(Errc::conflict, "group " + group_id + " has not agreed its keys yet");
  }
  if (s.exec("SELECT model_id FROM pools WHERE model_id = ? AND group_id = ? FOR UPDATE",
             {model_id, group_id})
          .rows.empty()) {
    s.exec("INSERT INTO pools (model_id, group_id) VALUES (?, ?)", {model_id, group_id});
  }
  tx.commit();
}

std::vector<PoolRecord> GroupRegistry::pools() {
  auto s = db_->acquire();
  std::vector<PoolRecord> out;
  for (const auto& row : s.exec("SELECT model_id, group_id, generated_total, failed_total, "
                                "last_error FROM pools ORDER BY model_id, group_id")
                             .rows) {
    out.push_back({row.get_string(0), row.get_string(1), row.get_int(2), row.get_int(3),
                   row.is_null(4) ? "" : row.get_string(4)});
  }
  return out;
}

std::int64_t GroupRegistry::count(const std::string& model_id, const std::string& group_id,
                                  const std::string& state) {
  auto s = db_->acquire();
  return s
      .exec(
          "SELECT COUNT(*) FROM batches WHERE model_id = ? AND dealer_group = ? AND "
          "kind = 'batch' AND state = ?",
          {model_id, group_id, state})
      .rows.at(0)
      .get_int(0);
}

std::int64_t GroupRegistry::live_mask_sets(const std::string& model_id,
                                           const std::string& group_id) {
  auto s = db_->acquire();
  return s
      .exec(
          "SELECT COUNT(*) FROM batches WHERE model_id = ? AND dealer_group = ? AND "
          "kind = 'mask_set' AND state <> ?",
          {model_id, group_id, kBatches.name(BatchState::failed)})
      .rows.at(0)
      .get_int(0);
}

void GroupRegistry::begin_generation(const Generation& g) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  s.exec(
      "INSERT INTO batches (batch_id, model_id, dealer_group, state, generation_started_unix, "
      "kind) VALUES (?, ?, ?, ?, ?, ?)",
      {g.batch_id, g.model_id, g.group_id, kBatches.name(BatchState::generating), g.started_unix,
       g.kind});
  ledger::append(s, g.batch_id, ledger::Event::generated, "",
                 {{"model_id", g.model_id}, {"group", g.group_id}, {"kind", g.kind}});
  tx.commit();
}

std::vector<Generation> GroupRegistry::generating() {
  auto s = db_->acquire();
  std::vector<Generation> out;
  for (const auto& row :
       s.exec("SELECT batch_id, model_id, dealer_group, generation_started_unix, kind FROM "
              "batches WHERE state = ? ORDER BY created_at",
              {kBatches.name(BatchState::generating)})
           .rows) {
    out.push_back({row.get_string(0), row.get_string(1), row.get_string(2),
                   row.is_null(3) ? 0 : row.get_int(3), row.get_string(4)});
  }
  return out;
}

bool GroupRegistry::mark_generated(const Generation& g) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  if (!kBatches.move_from(s, g.batch_id, BatchState::generating, BatchState::available,
                          ledger::Event::available, "")) {
    return false;
  }
  s.exec("UPDATE batches SET generation_finished_at = CURRENT_TIMESTAMP WHERE batch_id = ?",
         {g.batch_id});
  s.exec(
      "UPDATE pools SET generated_total = generated_total + 1 WHERE model_id = ? AND group_id = ?",
      {g.model_id, g.group_id});
  tx.commit();
  if (g.kind == "batch" && g.started_unix > 0) {
    std::lock_guard lock(mutex_);
    last_generation_seconds_[{g.model_id, g.group_id}] =
        std::max<std::int64_t>(1, unix_now() - g.started_unix);
  }
  return true;
}

std::optional<std::int64_t> GroupRegistry::refill_estimate(
    const std::string& model_id, const std::string& group_id,
    std::chrono::milliseconds keeper_interval) {
  auto s = db_->acquire();
  const bool pooled =
      s.exec("SELECT COUNT(*) FROM pools WHERE model_id = ? AND group_id = ?", {model_id, group_id})
          .rows.at(0)
          .get_int(0) > 0;
  if (!pooled) return std::nullopt;
  const auto running = s.exec(
                            "SELECT MIN(generation_started_unix) FROM batches WHERE model_id = ? "
                            "AND dealer_group = ? AND state = ? AND kind = 'batch'",
                            {model_id, group_id, kBatches.name(BatchState::generating)})
                           .rows.at(0);
  std::int64_t takes = kUnknownGenerationSeconds;
  {
    std::lock_guard lock(mutex_);
    if (auto it = last_generation_seconds_.find({model_id, group_id});
        it != last_generation_seconds_.end()) {
      takes = it->second;
    }
  }
  if (!running.is_null(0))
    return std::max<std::int64_t>(1, takes - (unix_now() - running.get_int(0)));
  const auto pass = std::chrono::ceil<std::chrono::seconds>(keeper_interval).count();
  return std::max<std::int64_t>(1, pass + takes);
}

bool GroupRegistry::mark_generation_failed(const Generation& g, const std::string& error) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  const std::string reason = error.substr(0, 1000);
  if (!kBatches.move_from(s, g.batch_id, BatchState::generating, BatchState::failed,
                          ledger::Event::failed, "", {{"reason", reason}})) {
    return false;
  }
  s.exec(
      "UPDATE batches SET generation_finished_at = CURRENT_TIMESTAMP, generation_error = ? "
      "WHERE batch_id = ?",
      {reason, g.batch_id});
  s.exec(
      "UPDATE pools SET failed_total = failed_total + 1, last_error = ? WHERE model_id = ? AND "
      "group_id = ?",
      {reason, g.model_id, g.group_id});
  tx.commit();
  return true;
}

}  // namespace ppi::super_dealer
