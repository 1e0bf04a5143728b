#include "dealer/generation_store.hpp"

#include "db/chunks.hpp"
#include "dealer/batch_state.hpp"
#include "obs/log.hpp"

namespace ppi::dealer {
namespace {

constexpr db::ChunkTable kChunks{"batch_chunks", "batch_id"};

}  // namespace

bool GenerationStore::begin(const std::string& batch_id, const std::string& model_id,
                            const std::string& group_id, const material::MaterialPlan& plan,
                            const std::string& mask_plan, const std::string& kind) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto r = s.exec(
      "SELECT model_id, dealer_group, plan, mask_plan, kind FROM batches WHERE batch_id = ? "
      "FOR UPDATE",
      {batch_id});
  if (!r.rows.empty()) {
    const auto& row = r.rows[0];
    if (row.get_string(0) == model_id && row.get_string(1) == group_id &&
        row.get_string(2) == plan.canonical() && row.get_string(3) == mask_plan &&
        row.get_string(4) == kind) {
      return false;
    }
    throw Error(Errc::conflict, "batch " + batch_id + " exists for another generation");
  }
  s.exec(
      "INSERT INTO batches (batch_id, model_id, dealer_group, state, element_count, plan, "
      "mask_plan, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {batch_id, model_id, group_id, kBatches.name(BatchState::generating),
       static_cast<std::int64_t>(plan.element_count()), plan.canonical(), mask_plan, kind});
  ledger::append(s, batch_id, ledger::Event::generated, "",
                 {{"model_id", model_id}, {"group", group_id}, {"kind", kind}});
  tx.commit();
  return true;
}

bool GenerationStore::prepare(const std::string& batch_id, ByteView share) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto r =
      s.exec("SELECT state, element_count FROM batches WHERE batch_id = ? FOR UPDATE", {batch_id});
  if (r.rows.empty() || kBatches.parse(r.rows[0].get_string(0)) != BatchState::generating) {
    return false;
  }
  if (share.size() != 16 + 32 * static_cast<std::uint64_t>(r.rows[0].get_int(1))) {
    throw Error(Errc::internal, "generated share of batch " + batch_id + " has a wrong size");
  }
  db::write_chunks(s, kChunks, batch_id, share);
  kBatches.move(s, batch_id, BatchState::prepared, ledger::Event::prepared, "");
  tx.commit();
  return true;
}

void GenerationStore::fail(const std::string& batch_id, const std::string& reason) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto r = s.exec("SELECT state FROM batches WHERE batch_id = ? FOR UPDATE", {batch_id});
  if (r.rows.empty()) throw Error(Errc::not_found, "unknown batch " + batch_id);
  const BatchState state = kBatches.parse(r.rows[0].get_string(0));
  if (state == BatchState::failed) return;
  if (state != BatchState::generating && state != BatchState::prepared) {
    throw Error(Errc::conflict,
                "batch " + batch_id + " is " + kBatches.name(state) + ": it cannot be aborted");
  }
  s.exec("UPDATE batches SET generation_error = ? WHERE batch_id = ?",
         {reason.substr(0, 1000), batch_id});
  kBatches.move(s, batch_id, BatchState::failed, ledger::Event::failed, "",
                {{"reason", reason.substr(0, 1000)}});
  db::delete_chunks(s, kChunks, batch_id);
  if (state == BatchState::prepared) {
    ledger::append(s, batch_id, ledger::Event::material_deleted, "");
  }
  tx.commit();
}

std::optional<GenerationState> GenerationStore::state(const std::string& batch_id) {
  auto s = db_->acquire();
  auto r = s.exec("SELECT state, generation_error FROM batches WHERE batch_id = ?", {batch_id});
  if (r.rows.empty()) return std::nullopt;
  return GenerationState{r.rows[0].get_string(0),
                         r.rows[0].is_null(1) ? std::string() : r.rows[0].get_string(1)};
}

std::int64_t GenerationStore::discard_unfinished() {
  auto s = db_->acquire();
  db::Transaction tx(s);
  // Unfinished generations hold no chunks (the share is written with 'prepared').
  const std::string reason = "the dealer restarted during generation";
  auto r = s.exec("SELECT batch_id FROM batches WHERE state = ? FOR UPDATE",
                  {kBatches.name(BatchState::generating)});
  for (const auto& row : r.rows) {
    const std::string batch_id = row.get_string(0);
    s.exec("UPDATE batches SET generation_error = ? WHERE batch_id = ?", {reason, batch_id});
    kBatches.move(s, batch_id, BatchState::failed, ledger::Event::failed, "", {{"reason", reason}});
  }
  tx.commit();
  if (!r.rows.empty()) {
    log::warn("generations_discarded", {{"count", std::to_string(r.rows.size())}});
  }
  return static_cast<std::int64_t>(r.rows.size());
}

}  // namespace ppi::dealer
